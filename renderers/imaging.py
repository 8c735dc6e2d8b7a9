"""Pixel-level helpers shared by renderers: blank checks, tight crops, encoding."""

from __future__ import annotations

import io
import os
from functools import cache

import numpy as np
from PIL import Image


def ink_bbox(image: Image.Image, threshold: int = 250) -> tuple[int, int, int, int] | None:
    """Bounding box (x0, y0, x1, y1) of pixels darker than `threshold`, or None if blank."""
    gray = np.asarray(image.convert("L"))
    mask = gray < threshold
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def touches_edge(box: tuple[int, int, int, int], size: tuple[int, int]) -> bool:
    """Whether an ink box (from `ink_bbox`) reaches the image border: a drawing cut off."""
    x0, y0, x1, y1 = box
    return x0 == 0 or y0 == 0 or x1 == size[0] or y1 == size[1]


def crop_to_ink(image: Image.Image, margin: int, background: int = 255) -> Image.Image | None:
    """Crop to the inked area plus `margin` pixels of background on each side; None if blank."""
    box = ink_bbox(image)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    inner = image.crop(box)
    # one grey level for every band: an int alone would fill an RGB image with red
    fill = background if len(image.getbands()) == 1 else (background,) * len(image.getbands())
    out = Image.new(image.mode, (x1 - x0 + 2 * margin, y1 - y0 + 2 * margin), fill)
    out.paste(inner, (margin, margin))
    return out


def is_blank(image: Image.Image) -> bool:
    """True when the image holds a single colour (nothing was drawn): a single grey level
    once converted to L. numpy's min and max of a page take about a quarter of Pillow's
    getextrema, and a page is checked twice (by its renderer, then by the worker)."""
    gray = np.asarray(image if image.mode == "L" else image.convert("L"))
    return gray.size == 0 or int(gray.min()) == int(gray.max())


def encode_image(image: Image.Image, fmt: str, compress_level: int, mode: str) -> bytes:
    """Encode for a shard. `mode` "auto" keeps the renderer's mode (L for black-on-white)."""
    if mode != "auto" and image.mode != mode:
        image = image.convert(mode)
    elif image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    if fmt == "png":
        return _png(image, compress_level)
    buf = io.BytesIO()
    if fmt == "jpeg":
        image.save(buf, format="JPEG", quality=92)
    elif fmt == "webp":
        image.save(buf, format="WEBP", lossless=True)
    else:
        raise ValueError(f"unknown image format {fmt!r}")
    return buf.getvalue()


@cache
def _vips():
    """libvips, set up once per process: one thread (a worker holds one CPU), and no
    operation cache (every image is encoded once; a cache would only hold memory)."""
    os.environ.setdefault("VIPS_CONCURRENCY", "1")
    import pyvips

    pyvips.cache_set_max(0)
    return pyvips


_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def decode_png(data: bytes, mode: str) -> Image.Image:
    """A PNG's pixels as a Pillow image in `mode`, read by libvips: a 2048 x 1428 capture
    of two pages decodes in about a quarter of Pillow's time (both inflate the same
    lossless stream, so the pixels are the same). The conversion to `mode` is Pillow's, so
    a grey level is what `Image.open(...).convert(mode)` gives. A PNG libvips would not
    give back as 8-bit samples (16-bit, palette with transparency...) goes to Pillow."""
    vips = _vips()
    picture = vips.Image.new_from_buffer(data, "", access="sequential")
    if picture.format != "uchar" or picture.bands not in _MODES:
        return Image.open(io.BytesIO(data)).convert(mode)
    band_mode = _MODES[picture.bands]
    image = Image.frombytes(band_mode, (picture.width, picture.height),
                            picture.write_to_memory())
    return image if band_mode == mode else image.convert(mode)


def decode_png_top(data: bytes, rows: int) -> Image.Image:
    """The top `rows` rows of a PNG, in its own mode (L or RGB; any other converted to
    RGB), decoding no further: a PNG's rows are inflated in order, and libvips, reading
    sequentially, stops past the last one asked for (a page cut a third of the way down
    decodes in about half the time of the whole). Pixels as `decode_png`'s."""
    # IHDR, the first chunk: bit depth, then colour type (0 grey, 2 RGB); any other PNG
    # (1-bit, 16-bit, palette, alpha) is Pillow's to decode and convert
    if data[12:16] != b"IHDR" or data[24] != 8 or data[25] not in (0, 2):
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            whole = image if image.mode in ("L", "RGB") else image.convert("RGB")
            return whole.crop((0, 0, whole.width, max(1, min(rows, whole.height))))
    picture = _vips().Image.new_from_buffer(data, "", access="sequential")
    rows = max(1, min(rows, picture.height))
    strip = picture.crop(0, 0, picture.width, rows)
    return Image.frombytes(_MODES[picture.bands], (picture.width, rows),
                           strip.write_to_memory())


def _png(image: Image.Image, level: int) -> bytes:
    """PNG by libvips (pyvips with its pinned binary, pyproject.toml): about four times
    Pillow's speed at level 1 for about 10% more bytes. PNG is lossless, so the decoded
    pixels are exactly Pillow's; the bytes depend only on the pinned libvips build."""
    assert image.mode in ("L", "RGB"), image.mode
    vips = _vips()
    bands = 1 if image.mode == "L" else 3
    picture = vips.Image.new_from_memory(image.tobytes(), image.width, image.height, bands,
                                         "uchar")
    # `keep` none: no metadata chunks, as Pillow writes none
    return _without_phys(picture.pngsave_buffer(compression=level, keep=0))


_SIGNATURE = 8


def _without_phys(png: bytes) -> bytes:
    """libvips always writes a pHYs chunk (its default of 1 pixel per mm, which readers
    report as 25.4 dpi); Pillow writes none, and a reader of our shards should see no
    resolution that nobody chose. Chunks stand alone (each has its own CRC): dropping one
    leaves a valid PNG."""
    at = _SIGNATURE
    while at < len(png):
        length = int.from_bytes(png[at:at + 4], "big")
        kind = png[at + 4:at + 8]
        if kind == b"pHYs":
            return png[:at] + png[at + 12 + length:]
        if kind == b"IDAT":
            break  # pHYs must come before the image data
        at += 12 + length
    return png
