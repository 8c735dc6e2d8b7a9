"""Text setting for `mixed-page`: fonts, line breaking and drawing prose with FreeType.

Drawing text line by line through Pillow rasterises every glyph again each time (several
milliseconds a line, more for Chinese). Here each token (an English word, a Chinese
character or Latin run) is rasterised once per font and kept; a page's text is one
coverage mask made of those tokens, blended onto the page in one paste. Tokens sit where
Pillow's basic layout puts them (hinted advances plus the kerning of the glyph pair at
each token boundary, measured once per pair), so the pixels are the ones Pillow would draw
for the whole line, and a line's measured width is its drawn width.

This module knows fonts and pixels; it does not know pages, blocks or targets.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache, lru_cache

import numpy as np
from PIL import Image, ImageFont

# Chinese punctuation that may not open a line (kinsoku)
NO_LINE_START = set("，。、；：！？）」』】》”’…")
# Chinese text breaks at any character, but a run of Latin letters, digits or signs in it
# (a command, a file name) is one unbreakable token; a space is a token of its own
_CJK_TOKEN = re.compile(r"[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+|.", re.S)
_CACHE_LIMIT = 200_000  # entries per cache before it starts again (memory stays bounded)


@lru_cache(maxsize=32)
def font_file(pattern: str) -> tuple[str, int]:
    """fontconfig's file and face index for a pattern (a .ttc holds several faces)."""
    out = subprocess.run(["fc-match", "--format=%{file}\t%{index}", pattern],
                         capture_output=True, text=True, timeout=10, check=True).stdout
    path, _, index = out.partition("\t")
    return path, int(index or 0)


@lru_cache(maxsize=32)
def font_chars(pattern: str) -> frozenset[int]:
    """The code points a font has glyphs for (its cmap): text with others would show as
    boxes, so such a block is left off the page."""
    from fontTools.ttLib import TTFont

    path, index = font_file(pattern)
    with TTFont(path, fontNumber=index, lazy=True) as font:
        return frozenset(font.getBestCmap() or ())


def drawable(text: str, pattern: str) -> bool:
    missing = set(map(ord, set(text))) - font_chars(pattern)
    return all(chr(code).isspace() for code in missing)


def tokens(text: str, cjk: bool) -> list[str]:
    return _CJK_TOKEN.findall(text) if cjk else text.split()


@cache  # never evicted: the caches below key fonts by id, which must stay unique
def load_font(pattern: str, size: int) -> ImageFont.FreeTypeFont:
    path, index = font_file(pattern)
    # basic layout (FreeType kerning, no shaping) is enough for Latin and Chinese prose,
    # and several times cheaper per line than raqm
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.BASIC)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float, cjk: bool) -> list[str]:
    """Greedy line breaking at spaces (at any character for Chinese); a word longer than
    the line is left whole on its own line (the page then drops the block as overfull).
    Lines are built from each token's measured width (cached per font) and each finished
    line is measured once more with its kerning, so kerning can never push one past
    `width`. A space where Chinese text breaks is dropped, as a line never starts or ends
    with one."""
    joiner = "" if cjk else " "
    gap = 0.0 if cjk else _width(font, " ")
    lines: list[str] = []
    line: list[str] = []
    used = 0.0
    for token in tokens(text, cjk):
        size = _width(font, token)
        if line and used + gap + size > width:
            carried: list[str] = []
            if cjk and token in NO_LINE_START and len(line) > 1:
                carried = [line.pop()]  # a comma never starts a line: its word comes along
            lines.append(joiner.join(line).rstrip())
            line = [] if token.isspace() and not carried else [*carried, token]
            used = sum(_width(font, t) for t in line)
        elif not (cjk and not line and token.isspace()):
            used += (gap if line else 0.0) + size
            line.append(token)
    if line:
        lines.append(joiner.join(line).rstrip())
    out: list[str] = []
    for text_line in lines:
        out += _exact(text_line, font, width, cjk)
    return out


@lru_cache(maxsize=8192)
def wrapped(text: str, font: ImageFont.FreeTypeFont, width: float, cjk: bool
            ) -> tuple[str, ...]:
    """`wrap`, remembered: a page measures a block once to see where it stops and again
    to place it (`MixedPageRenderer.reach`)."""
    return tuple(wrap(text, font, width, cjk))


def _exact(line: str, font: ImageFont.FreeTypeFont, width: float, cjk: bool) -> list[str]:
    """A line measured with its kerning; in the rare case kerning made it too wide,
    broken again token by token with kerned measurements."""
    if line_width(font, line, cjk) <= width:
        return [line]
    joiner = "" if cjk else " "
    out, current = [], ""
    for token in tokens(line, cjk):
        trial = f"{current}{joiner}{token}" if current else token
        if current and line_width(font, trial, cjk) > width:
            out.append(current)
            current = token
        else:
            current = trial
    return out + ([current] if current else [])


_WIDTHS: dict[tuple[int, str], float] = {}
_KERNS: dict[tuple[int, str, str], float] = {}
_MASKS: dict[tuple[int, str, float], tuple[np.ndarray | None, int, int]] = {}


def _width(font: ImageFont.FreeTypeFont, token: str) -> float:
    key = (id(font), token)  # fonts live in load_font's cache for the process
    found = _WIDTHS.get(key)
    if found is None:
        if len(_WIDTHS) > _CACHE_LIMIT:
            _WIDTHS.clear()
        found = _WIDTHS[key] = font.getlength(token)
    return found


def _kern(font: ImageFont.FreeTypeFont, left: str, right: str, cjk: bool) -> float:
    """What the kerning adds between two tokens (through the space between them): the
    pair's measured length less its glyphs' own advances."""
    key = (id(font), left[-1], right[0])
    found = _KERNS.get(key)
    if found is None:
        if len(_KERNS) > _CACHE_LIMIT:
            _KERNS.clear()
        pair = left[-1] + ("" if cjk else " ") + right[0]
        found = _KERNS[key] = font.getlength(pair) - sum(_width(font, ch) for ch in pair)
    return found


@lru_cache(maxsize=16384)  # a line is measured to break it, to check it and to draw it
def positions(font: ImageFont.FreeTypeFont, line: str, cjk: bool
              ) -> tuple[list[str], list[float], float]:
    """A line's tokens, the pen position of each, and the line's width, as Pillow's basic
    layout sets them."""
    toks = tokens(line, cjk)
    gap = 0.0 if cjk else _width(font, " ")
    at, pen = [], 0.0
    for n, token in enumerate(toks):
        if n:
            pen += gap + _kern(font, toks[n - 1], token, cjk)
        at.append(pen)
        pen += _width(font, token)
    return toks, at, pen


def line_width(font: ImageFont.FreeTypeFont, line: str, cjk: bool) -> float:
    return positions(font, line, cjk)[2]


def _mask(font: ImageFont.FreeTypeFont, token: str, start: float
          ) -> tuple[np.ndarray | None, int, int]:
    """A token's coverage as Pillow rasterises it from a pen `start` pixels (a fraction:
    some kerning is not a whole pixel) past a pixel's edge, and its offset from there."""
    key = (id(font), token, start)
    found = _MASKS.get(key)
    if found is None:
        if len(_MASKS) > _CACHE_LIMIT:
            _MASKS.clear()
        core, (dx, dy) = font.getmask2(token, "L", start=(start, 0.0))
        width, height = core.size
        pixels = (np.asarray(Image.Image()._new(core)).copy() if width and height else None)
        found = _MASKS[key] = (pixels, dx, dy)
    return found


class TextMask:
    """A page's text coverage, token by token; `render` sets it on white paper."""

    def __init__(self, width: int, height: int) -> None:
        self.cover = np.zeros((height, width), np.uint8)

    def line(self, font: ImageFont.FreeTypeFont, x: int, y: int, text: str,
             cjk: bool) -> None:
        toks, at, _ = positions(font, text, cjk)
        cover, masks, face = self.cover, _MASKS, id(font)
        height, width = cover.shape
        for token, pen in zip(toks, at, strict=True):
            whole = int(pen)  # as ImageDraw.text splits a position: pixel, then fraction
            found = masks.get((face, token, pen - whole))
            pixels, dx, dy = found or _mask(font, token, pen - whole)
            if pixels is None:
                continue
            x0, y0 = x + whole + dx, y + dy
            rows, cols = pixels.shape
            if x0 < 0 or y0 < 0 or x0 + cols > width or y0 + rows > height:
                pixels = pixels[max(0, -y0):height - y0, max(0, -x0):width - x0]
                x0, y0 = max(0, x0), max(0, y0)
                rows, cols = pixels.shape
                if not rows or not cols:
                    continue
            area = cover[y0:y0 + rows, x0:x0 + cols]
            np.maximum(area, pixels, out=area)  # glyphs that touch keep the darker pixel

    def touches(self, box: tuple[int, int, int, int]) -> bool:
        x0, y0, x1, y1 = box
        return bool(self.cover[max(0, y0):y1, max(0, x0):x1].any())

    def render(self, mode: str, ink: int) -> Image.Image:
        """The text in gray `ink` on white paper, as Pillow blends it (`ink_levels`)."""
        page = Image.fromarray(self.cover).point(ink_levels(ink))
        return page if mode == "L" else page.convert(mode)


@lru_cache(maxsize=8)
def ink_levels(ink: int) -> list[int]:
    """The gray Pillow gives white paper under ink of each coverage 0-255: its own blend,
    read back once, so a page made from it is the page Pillow would draw."""
    paper = Image.new("L", (256, 1), 255)
    paper.paste(ink, (0, 0, 256, 1), Image.fromarray(np.arange(256, dtype=np.uint8)[None]))
    return np.asarray(paper)[0].tolist()
