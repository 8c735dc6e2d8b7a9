"""`ocr2synth preview DIR`: a static HTML gallery of a dataset that works offline.

The gallery is one HTML file and a folder beside it (`NAME_files/`): the images and
thumbnails as files, an index of the shown samples as a script, the samples' full targets
in script chunks loaded on demand, the page's own script and style, and a copy of the
mathpix-markdown-it bundle that typesets math and Mathpix markdown in the page. Targets
that a browser cannot draw by itself are drawn back here, at build time: **kern as notation
by Verovio, SMILES as a molecule by RDKit (SVG files shown as images, which run no script).

Content reaches the page as data (JSON in the scripts, with `<` escaped), and the page puts
it into the document as text; only mathpix-markdown-it's output, with raw HTML switched
off, becomes markup. The page's Content-Security-Policy allows local files and nothing else.
Large sets are sampled: at most `per_group` samples of each (renderer, task) pair.
"""

from __future__ import annotations

import io
import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from ocr2synth.pipelines.format.manifest import DatasetError, Layout, load_manifest
from ocr2synth.renderers.browser.engine import asset
from ocr2synth.renderers.registry import REGISTRY
from ocr2synth.renderers.templates import TEMPLATES_DIR, render_template
from PIL import Image

MATHPIX_BUNDLE = "mathpix-markdown-it/es5/bundle.js"
DETAIL_CHUNK = 64  # samples per detail script
THUMB_PX = 240
_LIGHT_COLUMNS = ["renderer", "task"]
# One colour per layout category, readable on white (an unknown one is drawn dark blue).
LAYOUT_COLOUR = {"title": (170, 0, 0), "section-header": (200, 60, 0), "text": (0, 90, 200),
                 "list-item": (0, 130, 130), "caption": (120, 0, 160),
                 "footnote": (100, 100, 100), "formula": (0, 140, 0), "table": (160, 100, 0),
                 "picture": (200, 0, 120), "chart": (90, 60, 200), "molecule": (0, 120, 60),
                 "music": (140, 40, 90), "geometry": (40, 80, 40)}
_COLUMNS = ["id", "image", "images", "prompt", "target", "task", "renderer", "width",
            "height", "meta"]

def target_kind(renderer: str, task: str, target: str, meta: dict[str, Any]) -> str:
    """math, markdown, json, kern, smiles, code or text: the renderer's spec says which
    (`target_kind`); a renderer unknown here shows text, or json for a dict target."""
    spec = REGISTRY.get(renderer)
    kind = spec.kind_of(task, target, meta) if spec else "text"
    if kind == "markdown" and task == "ocr":  # an `OCR: ` target is plain text
        return "text"
    if kind == "text" and _is_dict(target):
        return "json"
    return kind


def _is_dict(text: str) -> bool:
    if not text.lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _js_data(obj: Any) -> str:
    """JSON for a script file: `<` escaped so no `</script>` or `<!--` can form."""
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class _Drawings:
    """SVG drawings of targets: **kern by a warm Verovio child, SMILES by RDKit."""

    def __init__(self) -> None:
        self._verovio = None

    def kern(self, text: str) -> tuple[str | None, str]:
        from ocr2synth.renderers.music.engine import EngineCrash, VerovioProcess

        if self._verovio is None:
            self._verovio = VerovioProcess(timeout_s=20)
        options = {"scale": 40, "pageWidth": 2100, "adjustPageHeight": True,
                   "adjustPageWidth": True, "breaks": "auto", "header": "auto",
                   "footer": "none", "mnumInterval": 0}
        try:
            engraving = self._verovio.engrave(text, options)
        except EngineCrash as exc:
            return None, f"Verovio crashed on this target ({exc})"
        if not engraving.ok or not engraving.svg:
            return None, "Verovio could not read this target"
        return engraving.svg, "drawn back from the target by Verovio"

    @staticmethod
    def smiles(text: str) -> tuple[str | None, str]:
        from rdkit import Chem, RDLogger
        from rdkit.Chem.Draw import rdMolDraw2D

        RDLogger.DisableLog("rdApp.*")
        mol = Chem.MolFromSmiles(text)
        if mol is None:
            return None, "RDKit could not parse this SMILES"
        drawer = rdMolDraw2D.MolDraw2DSVG(440, 340)
        rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
        drawer.FinishDrawing()
        return drawer.GetDrawingText(), "drawn back from the target by RDKit"

    @staticmethod
    def layout(data: bytes, target: str) -> tuple[bytes | None, str]:
        """The page with its layout target's boxes drawn over it, each labelled with its
        number in reading order and its category (PNG bytes)."""
        from PIL import ImageDraw

        try:
            rows = json.loads(target)
            boxes = [(r["category"], [float(v) for v in r["bbox"]]) for r in rows]
        except (ValueError, KeyError, TypeError):
            return None, "the layout target is not a JSON list of blocks"
        with Image.open(io.BytesIO(data)) as page:
            image = page.convert("RGB")
        draw = ImageDraw.Draw(image)
        w, h = image.size
        for n, (category, (x0, y0, x1, y1)) in enumerate(boxes):
            colour = LAYOUT_COLOUR.get(category, (60, 60, 160))
            box = (x0 * w / 1000, y0 * h / 1000, x1 * w / 1000, y1 * h / 1000)
            draw.rectangle(box, outline=colour, width=2)
            label = f"{n} {category}"
            at = (box[0], max(0.0, box[1] - 11))
            draw.rectangle(draw.textbbox(at, label), fill=colour)
            draw.text(at, label, fill=(255, 255, 255))
        out = io.BytesIO()
        image.save(out, "PNG", compress_level=1)
        return out.getvalue(), "the layout target's boxes drawn over the image"

    def close(self) -> None:
        if self._verovio is not None:
            self._verovio.close()


@dataclass
class PreviewResult:
    html: Path
    shown: int
    total: int
    groups: Counter = field(default_factory=Counter)


def _image_ext(value: dict[str, Any]) -> str:
    suffix = Path(value.get("path") or "").suffix.lower().lstrip(".")
    return suffix if suffix in {"png", "jpeg", "jpg", "webp"} else "png"


def _thumbnail(data: bytes, path: Path) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        image.thumbnail((THUMB_PX, THUMB_PX), Image.Resampling.LANCZOS)
        image.save(path, "JPEG", quality=85)


def _selected_rows(path: Path, taken: Counter, per_group: int) -> list[int]:
    """Row numbers of a shard to show, reading only the light columns."""
    table = pq.read_table(path, columns=_LIGHT_COLUMNS).to_pydict()
    rows = []
    for i, key in enumerate(zip(table["renderer"], table["task"], strict=True)):
        if taken[key] < per_group:
            taken[key] += 1
            rows.append(i)
    return rows


def build_preview(root: str | Path, html: str | Path | None = None, per_group: int = 200,
                  page_size: int = 24) -> PreviewResult:
    layout = Layout(Path(root))
    shards = sorted(layout.shards.glob("part-*.parquet")) if layout.shards.is_dir() else []
    if not shards:
        raise DatasetError(f"{layout.root} has no shards to preview")
    try:
        name = load_manifest(layout.root).get("name", layout.root.name)
    except DatasetError:
        name = layout.root.name
    try:
        bundle = asset(MATHPIX_BUNDLE)
    except FileNotFoundError as exc:
        raise DatasetError(f"cannot build the gallery: {exc}") from None
    html_path = Path(html) if html else layout.root / "preview.html"
    files_name = f"{html_path.stem}_files"
    files = html_path.parent / files_name
    if files.exists():
        shutil.rmtree(files)  # a stale gallery's files would mix with this one's
    for sub in ("img", "thumb", "render", "detail", "vendor"):
        (files / sub).mkdir(parents=True)
    shutil.copyfile(bundle, files / "vendor" / "mathpix-markdown-it.js")
    for script in ("mathpix-options.js", "preview.js", "preview.css"):
        shutil.copyfile(TEMPLATES_DIR / "html" / script, files / script)

    index: list[dict[str, Any]] = []
    chunk: list[dict[str, Any]] = []
    taken: Counter = Counter()
    total = 0
    drawings = _Drawings()
    try:
        for path in shards:
            total += pq.ParquetFile(path).metadata.num_rows
            wanted = _selected_rows(path, taken, per_group)
            if not wanted:
                continue
            table = pq.read_table(path, columns=_COLUMNS).take(wanted).to_pylist()
            for row in table:
                n = len(index)
                entry, detail = _sample_files(files, n, row, drawings)
                entry.update(chunk=n // DETAIL_CHUNK, at=n % DETAIL_CHUNK)
                index.append(entry)
                chunk.append(detail)
                if len(chunk) == DETAIL_CHUNK:
                    _write_detail(files, n // DETAIL_CHUNK, chunk)
                    chunk = []
        if chunk:
            _write_detail(files, (len(index) - 1) // DETAIL_CHUNK, chunk)
    finally:
        drawings.close()

    data = {
        "name": name, "total": total, "shown": len(index), "per_group": per_group,
        "page_size": page_size, "base": files_name + "/",
        "renderers": sorted({r["renderer"] for r in index}),
        "tasks": sorted({r["task"] for r in index}), "rows": index,
    }
    (files / "index.js").write_text(f"window.OCR2SYNTH_PREVIEW = {_js_data(data)};\n",
                                    encoding="utf-8")
    html_path.write_text(render_template("html/preview.html.j2", files=files_name),
                         encoding="utf-8")
    return PreviewResult(html_path, len(index), total, taken)


def _sample_files(files: Path, n: int, row: dict[str, Any],
                  drawings: _Drawings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write one sample's images and drawing; return its index entry and its detail."""
    stem = f"{n:07d}"  # file names never come from content
    images = []
    first = row["image"] if row["image"] and row["image"].get("bytes") else None
    for i, value in enumerate(([first] if first else []) + list(row["images"] or [])):
        if not value or not value.get("bytes"):
            continue
        rel = f"img/{stem}-{i}.{_image_ext(value)}"
        (files / rel).write_bytes(value["bytes"])
        images.append(rel)
    thumb = None
    source = first or next((v for v in row["images"] or [] if v and v.get("bytes")), None)
    if source is not None:
        thumb = f"thumb/{stem}.jpg"
        _thumbnail(source["bytes"], files / thumb)
    try:
        meta = json.loads(row["meta"] or "{}")
    except ValueError:
        meta = {}
    target = row["target"] or ""
    kind = target_kind(row["renderer"], row["task"], target, meta if isinstance(meta, dict)
                       else {})
    drawing, note = None, ""
    if kind in ("kern", "smiles"):
        svg, note = drawings.kern(target) if kind == "kern" else drawings.smiles(target)
        if svg is not None:
            drawing = f"render/{stem}.svg"
            (files / drawing).write_text(svg, encoding="utf-8")
    elif kind == "layout" and source is not None:
        png, note = drawings.layout(source["bytes"], target)
        if png is not None:
            drawing = f"render/{stem}.png"
            (files / drawing).write_bytes(png)
    entry = {
        "id": row["id"], "renderer": row["renderer"], "task": row["task"],
        "prompt": row["prompt"], "excerpt": target[:160], "thumb": thumb,
        "width": row["width"], "height": row["height"], "pages": len(images),
    }
    detail = {"id": row["id"], "target": target, "kind": kind, "images": images,
              "drawing": drawing, "note": note, "meta": row["meta"] or ""}
    return entry, detail


def _write_detail(files: Path, number: int, rows: list[dict[str, Any]]) -> None:
    (files / "detail" / f"{number:05d}.js").write_text(
        f"window.ocr2synthDetail({number}, {_js_data(rows)});\n", encoding="utf-8")
