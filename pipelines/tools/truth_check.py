"""Independent checks of pairs on real prose: word F1 between a markdown-page target and
the text the browser laid out (`--param page_text=true`), and word recall of Tesseract
(Debian's `tesseract-ocr`) over a page image against its target.

Also word F1 of latex-page targets against the page's PDF text layer (its line boxes) on
pages rendered with `--param mix=false`. Run: `python -m
ocr2synth.pipelines.tools.truth_check DATASET [--tesseract N]`. It reads
shards; it knows neither renderers nor Ray.
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import re
import statistics
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_MATH = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]", re.S)
_SKIP = ("\\[", "\\begin{tabular", "|", "\\caption")


def words(text: str) -> list[str]:
    """Lower-cased words; each CJK character counts as one word."""
    out: list[str] = []
    for token in _WORD.findall(text.lower()):
        if _CJK.search(token):
            out += [piece for piece in re.findall(r"[\u4e00-\u9fff]|[^\u4e00-\u9fff]+", token)]
        else:
            out.append(token)
    return out


def _unescape(md: str, numbers: bool = False) -> str:
    """Markdown as the words a page shows; `numbers`: ordered list numbers are shown (TeX
    prints them; the browser's DOM text of a list item has no marker)."""
    md = re.sub(r"^#+\s|^-\s" if numbers else r"^#+\s|^\d+\.\s|^-\s", "", md, flags=re.M)
    md = md.replace("**", "").replace("*", "")
    return re.sub(r"\\([\\`*_{}\[\]<>#|~$])", r"\1", _MATH.sub(" ", md))


def f1(a: list[str], b: list[str]) -> float:
    common = sum((Counter(a) & Counter(b)).values())
    if not a and not b:
        return 1.0
    if not common:
        return 0.0
    precision, recall = common / len(b), common / len(a)
    return 2 * precision * recall / (precision + recall)


def recall(truth: list[str], seen: list[str]) -> float:
    return sum((Counter(truth) & Counter(seen)).values()) / max(1, len(truth))


def rows(root: Path, columns: list[str]) -> list[dict]:
    out = []
    for path in sorted(glob.glob(str(root / "shards" / "*.parquet"))):
        out += pq.read_table(path, columns=columns).to_pylist()
    return out


_LIST = re.compile(r"^(?:\d+\.|-)\s")


def target_blocks(target: str) -> list[str]:
    """A target's blocks as the page lays them out: list items one by one, footnotes
    left out."""
    out: list[str] = []
    for block in target.split("\n\n"):
        if block.startswith("[^"):
            continue
        lines = block.split("\n")
        if len(lines) > 1 and all(_LIST.match(line) for line in lines):
            out += lines
        else:
            out.append(block)
    return out


def markdown_f1(root: Path) -> dict[str, list[float]]:
    """Per language, word F1 of each page's prose blocks: target vs laid-out text."""
    scores: dict[str, list[float]] = {}
    for row in rows(root, ["renderer", "target", "meta"]):
        meta = json.loads(row["meta"])
        if row["renderer"] != "markdown-page" or "page_text" not in meta:
            continue
        target = target_blocks(row["target"])
        shown = meta["page_text"][:len(target)]
        truth, seen = [], []
        for md, text in zip(target, shown, strict=False):
            if md.lstrip().startswith(_SKIP):
                continue
            truth += words(_unescape(md))
            seen += words(_MATH.sub(" ", text))
        scores.setdefault(meta.get("lang", "en"), []).append(f1(truth, seen))
    return scores


def dehyphenate(lines: list[str], compounds: set[str] = frozenset()) -> str:
    """Lines joined, a word TeX hyphenated at a line's end made whole again: the text
    layer keeps the break (`config-` / `uration`), the target the word. A break at a real
    hyphen (`command-` / `line`, listed in `compounds`) keeps its hyphen."""
    out = ""
    for line in lines:
        head = re.search(r"([^\W\d_]+)-$", out)
        first = re.match(r"[^\W\d_]+", line)
        if head and first and line[:1].islower():
            compound = f"{head.group(1)}-{first.group(0)}".lower()
            out = out + line if compound in compounds else out[:-1] + line
        else:
            out = f"{out} {line}" if out else line
    return out


def _compounds(text: str) -> set[str]:
    return {m.lower() for m in re.findall(r"[^\W\d_]+-[^\W\d_]+", text)}


def latex_f1(root: Path) -> dict[str, list[float]]:
    """Per language, word F1 of latex-page targets against the PDF text layer of the same
    page (its line boxes), on pages of prose only (`--param mix=false`: no math or tables,
    whose text layer is not their LaTeX)."""
    scores: dict[str, list[float]] = {}
    for row in rows(root, ["renderer", "target", "meta", "boxes"]):
        meta = json.loads(row["meta"])
        if row["renderer"] != "latex-page" or meta.get("mix", True):
            continue
        lines = row["boxes"][int(meta.get("paragraph_boxes", 0)):]
        truth_text = _unescape("\n".join(target_blocks(row["target"])), numbers=True)
        truth = words(truth_text)
        seen = words(dehyphenate([box["text"] for box in lines], _compounds(truth_text)))
        scores.setdefault(meta.get("lang", "en"), []).append(f1(truth, seen))
    return scores


def tesseract_recall(root: Path, renderer: str, limit: int) -> list[float]:
    """Tesseract's word recall on English pages of `renderer` (prose blocks only)."""
    from PIL import Image

    out = []
    for row in rows(root, ["renderer", "target", "meta", "image"]):
        meta = json.loads(row["meta"])
        if row["renderer"] != renderer or meta.get("lang") != "en" or len(out) >= limit:
            continue
        prose = [b for b in row["target"].split("\n\n")
                 if not b.lstrip().startswith(_SKIP) and not b.startswith("[^")]
        truth = words(_unescape("\n".join(prose)))
        with tempfile.TemporaryDirectory() as tmp:
            png = Path(tmp) / "page.png"
            Image.open(io.BytesIO(row["image"]["bytes"])).save(png)
            text = subprocess.run(["tesseract", str(png), "-", "-l", "eng"], check=True,
                                  capture_output=True, text=True, timeout=120).stdout
        out.append(recall(truth, words(text)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset")
    parser.add_argument("--tesseract", type=int, default=0, help="pages to OCR")
    parser.add_argument("--renderer", default="latex-page")
    args = parser.parse_args()
    root = Path(args.dataset)
    for name, measure in (("markdown-page", markdown_f1), ("latex-page", latex_f1)):
        for lang, scores in sorted(measure(root).items()):
            print(f"{name} word F1 ({lang}): pages {len(scores)}, min {min(scores):.4f}, "
                  f"median {statistics.median(scores):.4f}, mean "
                  f"{statistics.mean(scores):.4f}")
    if args.tesseract:
        scores = tesseract_recall(root, args.renderer, args.tesseract)
        if scores:
            print(f"tesseract word recall ({args.renderer}, en): pages {len(scores)}, "
                  f"median {statistics.median(scores):.4f}, min {min(scores):.4f}")


if __name__ == "__main__":
    main()
