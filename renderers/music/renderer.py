"""`music`: single-system **kern engraved by Verovio, rasterized by resvg, on paper."""

from __future__ import annotations

import io
import random
import re
from pathlib import Path
from typing import Any

import resvg_py
from ocr2synth.renderers.base import PROMPT_FORMAT, Item, Reject, Renderer, Sample
from ocr2synth.renderers.imaging import ink_bbox, touches_edge
from ocr2synth.renderers.music.engine import EngineCrash, VerovioProcess
from ocr2synth.renderers.music.kern import KernFormatError, parse_kern
from ocr2synth.renderers.music.kern_source import random_title
from ocr2synth.renderers.paper import INKS, PAPERS, ink_on_paper, paper
from PIL import Image, ImageOps

# The SMuFL fonts the verovio wheel ships.
MUSIC_FONTS = ["Leipzig", "Bravura", "Gootville", "Leland", "Petaluma"]
# Title and composer text: Verovio asks for "Times, serif"; resvg maps serif to one of these.
TEXT_FONTS: dict[str, str] = {
    "DejaVu Serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "Latin Modern Roman": "/usr/share/texmf/fonts/opentype/public/lm/lmroman10-regular.otf",
    "DejaVu Sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
}
MAX_KERN_CHARS = 20_000
WIDEST_PAGE = 4000
# Room around the page so a drawing that leaves it (a tie into the next system) shows
# whole, and ink reaching the canvas edge means a real clip.
BLEED_PX = 16
_PITCH = re.compile(r"[a-gA-G]")
_SVG_NOTE = re.compile(r'<g [^>]*class="note[ "]')
_SVG_MEASURE = re.compile(r'<g [^>]*class="measure[ "]')
_SVG_SIZE = re.compile(r'<svg width="(\d+)px" height="(\d+)px"')
_SVG_SYSTEM = re.compile(r'<g [^>]*class="system[ "]')


def kern_counts(records: list[Any]) -> tuple[int, int]:
    """(measures, notes) a document should engrave to: measures are barline-delimited
    stretches holding data; notes are the pitched subtokens of **kern spines."""
    measures, notes, open_data = 0, 0, False
    for record in records:
        if record.kind == "barline":
            measures += open_data
            open_data = False
        elif record.kind == "data":
            open_data = True
            for token, spine in zip(record.tokens, record.spines, strict=True):
                if spine.exclusive != "**kern" or token == ".":
                    continue
                notes += sum(1 for sub in token.split(" ")
                             if _PITCH.search(sub) and "r" not in sub)
    return measures + open_data, notes


def with_bleed(svg: str, bleed: int) -> str:
    """The SVG on a canvas `bleed` pixels larger on every side."""
    outer = _SVG_SIZE.search(svg)
    inner = svg.find('<svg class="definition-scale"')
    if outer is None or inner < 0:
        return svg
    width, height = int(outer[1]), int(outer[2])
    start = inner + len("<svg")
    return (svg[: outer.start()]
            + f'<svg width="{width + 2 * bleed}px" height="{height + 2 * bleed}px"'
            + svg[outer.end(): start]
            + f' x="{bleed}" y="{bleed}" width="{width}" height="{height}"' + svg[start:])


class MusicRenderer(Renderer):
    name = "music"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.title_rate = float(params.get("title_rate", 0.3))
        self.paper_rate = float(params.get("paper_rate", 0.7))
        self.text_fonts = {k: v for k, v in TEXT_FONTS.items() if Path(v).exists()}
        self.engine = VerovioProcess(timeout_s)

    def style(self, item: Item) -> dict[str, Any]:
        rng = self.style_rng(item)
        style: dict[str, Any] = {
            "font": rng.choice(MUSIC_FONTS),
            "scale": rng.randint(34, 56),
            "page_width": rng.randint(1900, 2600),
            "spacing_linear": round(rng.uniform(0.2, 0.32), 3),
            "spacing_non_linear": round(rng.uniform(0.5, 0.7), 3),
            "staff_line_width": round(rng.uniform(0.1, 0.3), 3),
            "stem_width": round(rng.uniform(0.15, 0.3), 3),
            "spacing_staff": rng.randint(8, 16),
            "paper": rng.choice(list(PAPERS)[1:]) if rng.random() < self.paper_rate else "white",
            "ink": rng.choice(list(INKS)),
            "padding": rng.randint(8, 48),
        }
        if self.text_fonts and rng.random() < self.title_rate:
            style["title"], style["composer"] = random_title(rng)
            style["text_font"] = rng.choice(sorted(self.text_fonts))
        style["paper_seed"] = rng.getrandbits(32)
        return style

    @staticmethod
    def document(kern: str, style: dict[str, Any]) -> str:
        """The target: the excerpt, with reference records for any title text drawn."""
        if "title" not in style:
            return kern
        return f"!!!COM: {style['composer']}\n!!!OTL: {style['title']}\n{kern}"

    @staticmethod
    def options(style: dict[str, Any]) -> dict[str, Any]:
        return {
            "font": style["font"], "scale": style["scale"], "pageWidth": style["page_width"],
            "adjustPageHeight": True, "adjustPageWidth": True, "breaks": "auto",
            "spacingLinear": style["spacing_linear"],
            "spacingNonLinear": style["spacing_non_linear"],
            "staffLineWidth": style["staff_line_width"], "stemWidth": style["stem_width"],
            "spacingStaff": style["spacing_staff"],
            "header": "auto" if "title" in style else "none", "footer": "none",
            "pageMarginLeft": 40, "pageMarginRight": 40, "pageMarginTop": 40,
            "pageMarginBottom": 40, "mnumInterval": 0,
        }

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        return [self.render_one(item) for item in items]

    def render_one(self, item: Item) -> Sample | Reject:
        kern = item.content
        if not isinstance(kern, str) or not kern.strip():
            return Reject("empty", "no **kern text")
        if len(kern) > MAX_KERN_CHARS:
            return Reject("too-long", f"{len(kern)} characters (limit {MAX_KERN_CHARS})")
        try:
            records = parse_kern(kern)
        except KernFormatError as exc:
            return Reject("malformed-kern", str(exc))
        if not any(r.kind == "exclusive" and "**kern" in r.tokens for r in records):
            return Reject("malformed-kern", "no **kern spine")
        style = self.style(item)
        document = self.document(kern, style)
        engraving = None
        for attempt in range(2):
            try:
                engraving = self.engine.engrave(document, self.options(style))
            except EngineCrash as exc:
                return Reject("engine-crash", str(exc))
            if not engraving.ok or not engraving.svg:
                return Reject("verovio-load", engraving.log.strip()[:300])
            errors = [line for line in engraving.log.splitlines() if "Error" in line]
            if errors:
                return Reject("kern-error", " ".join(errors)[:300])
            systems = len(_SVG_SYSTEM.findall(engraving.svg))
            if engraving.pages == 1 and systems == 1:
                break
            if attempt == 0:
                # a long excerpt gets the widest page before it counts as too long
                style["page_width"] = WIDEST_PAGE
                continue
            return Reject("multi-system", f"{engraving.pages} pages, {systems} systems "
                                          f"at page width {WIDEST_PAGE}")
        assert engraving is not None
        measures, notes = kern_counts(records)
        drawn_measures = len(_SVG_MEASURE.findall(engraving.svg))
        drawn_notes = len(_SVG_NOTE.findall(engraving.svg))
        if (drawn_measures, drawn_notes) != (measures, notes):
            return Reject("engraving-mismatch",
                          f"kern has {measures} measures and {notes} notes; "
                          f"engraved {drawn_measures} and {drawn_notes}")
        image = self.rasterize(engraving.svg, style)
        if isinstance(image, Reject):
            return image
        meta = {k: v for k, v in style.items() if k not in ("title", "composer")}
        meta.update(item.meta)
        return Sample(image=image, target=document, prompt=PROMPT_FORMAT, task="format",
                      meta=meta)

    def rasterize(self, svg: str, style: dict[str, Any]) -> Image.Image | Reject:
        fonts: dict[str, Any] = {"skip_system_fonts": True}
        if "<text" in svg and self.text_fonts:
            family = style.get("text_font", sorted(self.text_fonts)[0])
            fonts.update(font_files=[self.text_fonts[family]], serif_family=family,
                         font_family=family)
        png = resvg_py.svg_to_bytes(svg_string=with_bleed(svg, BLEED_PX), **fonts)
        coverage = Image.open(io.BytesIO(bytes(png))).getchannel("A")
        # coverage above 12 of 255 counts as ink
        box = ink_bbox(ImageOps.invert(coverage), threshold=243)
        if box is None:
            return Reject("blank", "the engraving has no ink")
        if touches_edge(box, coverage.size):
            return Reject("clipped", "ink touches the page edge")
        coverage = ImageOps.expand(coverage.crop(box), border=style["padding"], fill=0)
        background = paper(coverage.size, random.Random(style["paper_seed"]), style["paper"])
        return ink_on_paper(coverage, background, INKS[style["ink"]])

    def close(self) -> None:
        self.engine.close()
