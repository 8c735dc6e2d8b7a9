"""A PDF page's text layer as lines and paragraphs in reading order, and the checks that
tell a usable page from one whose text layer is empty, garbled or a scan.

Coordinates stay in PDF points of the unrotated page (what `get_text` and `get_textbox`
speak); `to_pixels` maps them onto a raster of the displayed (rotated) page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pymupdf

# Ligatures expanded (a "fi" glyph reads as "fi"); whitespace kept as the PDF places it;
# a glyph without a Unicode value reads as U+FFFD (counted as unreadable, then dropped),
# not as its glyph code, which would put a false letter in the target.
TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
# A page with more than this share of unreadable characters is "garbled-text".
MAX_BAD_SHARE = 0.05
# "scanned-page": images cover at least this share of the page while the visible text
# is shorter than SCAN_MAX_CHARS characters (an OCR layer is invisible text, not counted).
SCAN_IMAGE_SHARE = 0.5
SCAN_MAX_CHARS = 200
# Lines of one block whose heights overlap this much are one visual line (a sub- or
# superscript that PyMuPDF reports as a line of its own).
SAME_LINE_OVERLAP = 0.5
# A horizontal gap wider than this share of the line height between two pieces of a line
# is a word space even where the PDF draws none.
GAP_AS_SPACE = 0.25
# Blocks overlapping by more than this (points, both ways) are one paragraph.
OVERLAP_PT = 0.5

Piece = tuple[tuple[float, float, float, float], str]  # a span's box and text


@dataclass
class Line:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


@dataclass
class Paragraph:
    lines: list[Line] = field(default_factory=list)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return (min(ln.x0 for ln in self.lines), min(ln.y0 for ln in self.lines),
                max(ln.x1 for ln in self.lines), max(ln.y1 for ln in self.lines))

    @property
    def text(self) -> str:
        """The paragraph as one line of text (the box text convention of `latex-page`)."""
        return " ".join(ln.text for ln in self.lines)


@dataclass
class PageText:
    paragraphs: list[Paragraph]
    chars: int  # visible, non-space characters kept
    bad_chars: int  # U+FFFD, private-use and control characters (dropped from the text)
    invisible_chars: int  # text drawn invisibly (an OCR layer over a scan)
    columns: int
    coloured: bool = False  # some visible text is drawn in a colour (not a grey)

    @property
    def lines(self) -> list[Line]:
        return [ln for para in self.paragraphs for ln in para.lines]

    @property
    def text(self) -> str:
        """The page's plain text: lines on their own line, a blank line between paragraphs."""
        return "\n\n".join("\n".join(ln.text for ln in p.lines) for p in self.paragraphs)


# Characters no reader can see as text: control codes (TeX's symbol fonts without a
# Unicode map give these), surrogates, private-use codes (unmapped glyphs) and U+FFFD.
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\uf8ff\ufffd"
                  "\U000f0000-\U0010ffff]")


def count_bad(text: str) -> int:
    return len(_BAD.findall(text))


def clean(text: str) -> str:
    """Unreadable characters dropped and whitespace runs collapsed: the form every line
    text, target and test comparison uses."""
    return " ".join(_BAD.sub("", text).split())


def text_rect(page: pymupdf.Page) -> pymupdf.Rect:
    """The visible page in text-layer coordinates: unrotated, from the crop box's corner."""
    return pymupdf.Rect(0, 0, page.cropbox.width, page.cropbox.height)


def text_page(page: pymupdf.Page) -> pymupdf.TextPage:
    """The page's text layer, extracted once for `read_page` and for slice checks."""
    return page.get_textpage(clip=text_rect(page), flags=TEXT_FLAGS)


def read_page(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> PageText:
    """Lines and paragraphs of the page's visible text, in reading order."""
    raw = page.get_text("dict", textpage=textpage or text_page(page))
    blocks: list[list[Piece]] = []
    bad = invisible = 0
    coloured = False
    for block in raw["blocks"]:
        if block.get("type") != 0:
            continue
        pieces: list[Piece] = []
        for line in block["lines"]:
            for span in line["spans"]:
                text = span["text"]
                if not text.strip():
                    # PyMuPDF reports the space between words as a span of its own
                    pieces.append((tuple(span["bbox"]), text))
                    continue
                if span.get("alpha", 255) == 0:
                    invisible += len(text.strip())
                    continue
                bad += count_bad(text)
                colour = span.get("color", 0)
                coloured = coloured or not (colour >> 16 == (colour >> 8) & 255 == colour & 255)
                pieces.append((tuple(span["bbox"]), text))
        if any(text.strip() for _, text in pieces):
            blocks.append(pieces)
    paragraphs = []
    for pieces in _merge_overlapping(blocks):
        lines = _visual_lines(pieces)
        if lines:
            paragraphs.append(Paragraph(lines))
    chars = sum(len(ln.text.replace(" ", "")) for p in paragraphs for ln in p.lines)
    ordered, columns = reading_order(paragraphs, 0.0, page.cropbox.width)
    return PageText(ordered, chars, bad, invisible, columns, coloured)


def _merge_overlapping(blocks: list[list[Piece]]) -> list[list[Piece]]:
    """Blocks whose boxes overlap are one paragraph: PyMuPDF splits a paragraph around a
    tall formula (a radical, a fraction) into blocks that lie over one another."""
    boxes = [_extent(pieces) for pieces in blocks]
    parent = list(range(len(blocks)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (ax0, ay0, ax1, ay1) in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            bx0, by0, bx1, by1 = boxes[j]
            if (min(ax1, bx1) - max(ax0, bx0) > OVERLAP_PT
                    and min(ay1, by1) - max(ay0, by0) > OVERLAP_PT):
                parent[root(j)] = root(i)
    merged: dict[int, list[Piece]] = {}
    for i, pieces in enumerate(blocks):
        merged.setdefault(root(i), []).extend(pieces)
    return list(merged.values())


def _extent(pieces: list[Piece]) -> tuple[float, float, float, float]:
    inked = [b for b, text in pieces if text.strip()]
    return (min(b[0] for b in inked), min(b[1] for b in inked),
            max(b[2] for b in inked), max(b[3] for b in inked))


def _visual_lines(pieces: list[Piece]) -> list[Line]:
    """Spans grouped into visual lines (vertical overlap), each read left to right."""
    # [top, bottom, pieces]; pieces come sorted by their middle, so a piece can only
    # share a line with one of the last few rows
    rows: list[list] = []
    for piece in sorted(pieces, key=lambda p: (p[0][1] + p[0][3]) / 2):
        (x0, y0, x1, y1), _ = piece
        for row in reversed(rows[-3:]):
            top, bottom = row[0], row[1]
            overlap = min(bottom, y1) - max(top, y0)
            if overlap > SAME_LINE_OVERLAP * min(bottom - top, y1 - y0):
                row[0], row[1] = min(top, y0), max(bottom, y1)
                row[2].append(piece)
                break
        else:
            rows.append([y0, y1, [piece]])
    lines = []
    for _, _, row in rows:
        row.sort(key=lambda p: p[0][0])
        text = clean(_join(row))
        inked = [b for b, t in row if t.strip()]  # a space's box is not part of the line
        if not text or not inked:
            continue
        lines.append(Line(min(b[0] for b in inked), min(b[1] for b in inked),
                          max(b[2] for b in inked), max(b[3] for b in inked), text))
    lines.sort(key=lambda ln: ln.y0)
    return lines


def _join(row: list[Piece]) -> str:
    """Pieces of one visual line, left to right; a visible gap between two pieces (table
    cells, which PyMuPDF may report as separate lines) reads as a space."""
    out: list[str] = []
    previous_x1 = None
    for (x0, y0, x1, y1), text in row:
        if (previous_x1 is not None and x0 - previous_x1 > GAP_AS_SPACE * (y1 - y0)
                and out and not out[-1].endswith(" ") and not text.startswith(" ")):
            out.append(" ")
        out.append(text)
        previous_x1 = x1 if previous_x1 is None else max(previous_x1, x1)
    return "".join(out)


def reading_order(paragraphs: list[Paragraph], left: float, width: float
                  ) -> tuple[list[Paragraph], int]:
    """Paragraphs in reading order and the column count (1 or 2).

    Two columns when at least two paragraphs sit wholly in each half of the page: then
    full-width paragraphs (titles, wide tables) cut the page into bands, and each band is
    read left column first. Otherwise top to bottom, side-by-side paragraphs left to right.
    """
    mid = left + width / 2
    slack = width * 0.02

    def side(p: Paragraph) -> int:
        x0, _, x1, _ = p.bbox
        if x1 <= mid + slack:
            return 0
        if x0 >= mid - slack:
            return 1
        return -1  # spans both halves

    sides = [side(p) for p in paragraphs]
    two = sides.count(0) >= 2 and sides.count(1) >= 2
    by_top = sorted(range(len(paragraphs)), key=lambda i: (round(paragraphs[i].bbox[1], 1),
                                                          paragraphs[i].bbox[0]))
    if not two:
        return _rows(paragraphs, by_top), 1
    ordered: list[int] = []
    band: list[int] = []
    for i in by_top:
        if sides[i] == -1:
            ordered += sorted(band, key=lambda j: (sides[j], paragraphs[j].bbox[1]))
            band = []
            ordered.append(i)
        else:
            band.append(i)
    ordered += sorted(band, key=lambda j: (sides[j], paragraphs[j].bbox[1]))
    return [paragraphs[i] for i in ordered], 2


def _rows(paragraphs: list[Paragraph], by_top: list[int]) -> list[Paragraph]:
    """Top to bottom; paragraphs whose tops lie within 3 pt are one row, read left to
    right (table cells, side-by-side captions)."""
    out: list[Paragraph] = []
    row: list[Paragraph] = []
    for i in by_top:
        para = paragraphs[i]
        if row and para.bbox[1] - row[0].bbox[1] > 3.0:
            out += sorted(row, key=lambda p: p.bbox[0])
            row = []
        row.append(para)
    out += sorted(row, key=lambda p: p.bbox[0])
    return out


def quality_problem(page: pymupdf.Page, text: PageText) -> tuple[str, str] | None:
    """Why this page's text layer cannot be a target, or None when it can."""
    looked_at = text.chars + text.bad_chars
    if text.chars < SCAN_MAX_CHARS:
        cover = image_cover(page)
        if cover >= SCAN_IMAGE_SHARE:
            return ("scanned-page", f"images cover {cover:.0%} of the page; "
                    f"{text.chars} visible and {text.invisible_chars} invisible characters")
    if text.chars == 0:
        return ("no-text-layer", "the page has no visible text")
    if looked_at and text.bad_chars / looked_at > MAX_BAD_SHARE:
        return ("garbled-text", f"{text.bad_chars} of {looked_at} characters are unmapped "
                "glyphs, private-use or control codes")
    return None


def image_cover(page: pymupdf.Page) -> float:
    """Share of the page area that images cover (overlaps counted once, roughly: the
    union's bounding area is capped by the sum)."""
    area = abs(page.rect)
    if not area:
        return 0.0
    visible = text_rect(page)
    rects = [pymupdf.Rect(info["bbox"]) & visible for info in page.get_image_info()]
    total = sum(abs(r) for r in rects if not r.is_empty)
    return min(1.0, total / area)


def shows_colour(page: pymupdf.Page, text: PageText) -> bool | None:
    """Whether the page draws anything in colour: text or vector graphics, known from the
    content without rasterizing; None where it has images (only their pixels can tell)."""
    if page.get_images():
        return None
    if text.coloured:
        return True
    for drawing in page.get_cdrawings():
        for key in ("color", "fill"):
            value = drawing.get(key)
            if value and len(value) >= 3 and len({round(v, 3) for v in value[:3]}) > 1:
                return True
    return False


def to_pixels(page: pymupdf.Page, bbox: tuple[float, float, float, float],
              size: tuple[int, int]) -> tuple[float, float, float, float]:
    """A text-layer rectangle as pixels of a raster of the displayed page of `size`."""
    rect = pymupdf.Rect(bbox) * page.rotation_matrix
    sx, sy = size[0] / page.rect.width, size[1] / page.rect.height
    x0, y0 = max(0.0, rect.x0 * sx), max(0.0, rect.y0 * sy)
    x1, y1 = min(float(size[0]), rect.x1 * sx), min(float(size[1]), rect.y1 * sy)
    return x0, y0, x1, y1
