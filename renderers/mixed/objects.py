"""An OCR-2.0 object on a `mixed-page` page: its target inline in the page's Mathpix
markdown, and its picture cropped and scaled to a column. It does not know pages' layout
or the engines that drew the objects."""

from __future__ import annotations

from ocr2synth.renderers.imaging import ink_bbox
from ocr2synth.renderers.mixed.source import CATEGORY
from PIL import Image

# An object is scaled down to its column, never below this (its text would be too small
# to read), and to at most this share of the page's text height.
MIN_SCALE = 0.5
TRIM_KEEP = 6  # pixels of an object's own background kept around its ink
MAX_HEIGHT_SHARE = 0.45


def object_markdown(renderer: str, target: str) -> str:
    """An object's target inline in the page's Mathpix markdown (module docstring)."""
    kind = CATEGORY[renderer]
    if kind == "formula":
        return f"\\[\n{target}\n\\]"
    if kind == "table":
        return target
    if kind == "molecule":
        return f"<smiles>{target}</smiles>"
    fence = {"music": "kern", "geometry": "tikz", "chart": "chart"}[kind]
    # the target verbatim; a closing newline of its own also ends the fence's last line
    return f"```{fence}\n{target}{'' if target.endswith(chr(10)) else chr(10)}```"


def fit_object(image: Image.Image, col_w: float, text_h: float) -> tuple[Image.Image, float] | str:
    """An object cropped to its ink and scaled to its column, with the scale; or why not."""
    # the white its renderer left around it would part it from its caption
    ink = ink_bbox(image)
    if ink is None:
        return "blank"
    x0, y0, x1, y1 = ink
    image = image.crop((max(0, x0 - TRIM_KEEP), max(0, y0 - TRIM_KEEP),
                        min(image.width, x1 + TRIM_KEEP), min(image.height, y1 + TRIM_KEEP)))
    scale = min(1.0, col_w / image.width, MAX_HEIGHT_SHARE * text_h / image.height)
    if scale < MIN_SCALE:
        return "too-large"
    if scale < 1.0:
        image = image.resize((max(1, round(image.width * scale)),
                              max(1, round(image.height * scale))), Image.Resampling.LANCZOS)
    return image, scale
