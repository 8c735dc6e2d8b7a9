"""PNG encoding by libvips (renderers/imaging.py): the decoded pixels are exactly what
Pillow's own PNG encoder gives back for the same arrays, the files carry no metadata
Pillow's did not, and the bytes are the same in another process. PNG decoding by libvips
(`decode_png`, for browser captures) gives Pillow's pixels, converted as Pillow converts;
`decode_png_top` (a stored page cut near its top) gives the same pixels of the rows asked."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from ocr2synth.renderers.imaging import decode_png, decode_png_top, encode_image, is_blank
from PIL import Image, ImageDraw

pytestmark = pytest.mark.unit


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(7)
    page = Image.new("L", (1080, 1397), 255)
    draw = ImageDraw.Draw(page)
    for y in range(40, 1350, 22):
        draw.text((60, y), "The quick brown fox jumps over the lazy dog 0123456789", fill=0)
    chart = Image.new("RGB", (640, 480), (255, 255, 255))
    ImageDraw.Draw(chart).rectangle((100, 100, 300, 400), fill=(200, 30, 60))
    return [
        page,
        chart,
        Image.fromarray(rng.integers(0, 256, (31, 17), dtype=np.uint8), "L"),
        Image.fromarray(rng.integers(0, 256, (5, 300, 3), dtype=np.uint8), "RGB"),
        Image.new("L", (1, 1), 0),
    ]


def _pillow_png(image: Image.Image, level: int) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_decoded_pixels_equal_pillows_for_the_same_arrays(level):
    for image in _images():
        ours = Image.open(io.BytesIO(encode_image(image, "png", level, "auto")))
        theirs = Image.open(io.BytesIO(_pillow_png(image, level)))
        assert (ours.format, ours.mode, ours.size) == (theirs.format, theirs.mode, theirs.size)
        assert np.array_equal(np.asarray(ours), np.asarray(theirs))
        assert np.array_equal(np.asarray(ours), np.asarray(image))
        assert ours.info == theirs.info  # no resolution nor text chunk Pillow did not write


def test_the_encoder_is_libvips_and_its_bytes_do_not_depend_on_the_process():
    page = _images()[0]
    data = encode_image(page, "png", 1, "auto")
    assert data != _pillow_png(page, 1)  # not Pillow's stream: another encoder wrote it
    code = ("import sys, numpy as np; from PIL import Image; "
            "from ocr2synth.renderers.imaging import encode_image; "
            "from tests.test_imaging import _images; "
            "sys.stdout.buffer.write(encode_image(_images()[0], 'png', 1, 'auto'))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                           timeout=120).stdout
    assert other == data


def test_modes_are_converted_as_before():
    rgba = Image.new("RGBA", (20, 10), (10, 20, 30, 255))
    decoded = Image.open(io.BytesIO(encode_image(rgba, "png", 1, "auto")))
    assert decoded.mode == "RGB" and decoded.getpixel((3, 3)) == (10, 20, 30)
    gray = Image.open(io.BytesIO(encode_image(rgba, "png", 1, "L")))
    assert gray.mode == "L" and gray.getpixel((3, 3)) == rgba.convert("L").getpixel((3, 3))


def _pngs() -> list[bytes]:
    """PNGs written by another encoder (Pillow's), in the modes a capture or a file could
    come in: grey, RGB, RGBA, grey with alpha, a palette, 16-bit grey (which goes to
    Pillow), 1-bit."""
    rng = np.random.default_rng(11)
    rgb = Image.fromarray(rng.integers(0, 256, (23, 41, 3), dtype=np.uint8), "RGB")
    images = [
        *_images(),
        rgb,
        Image.fromarray(rng.integers(0, 256, (9, 13, 4), dtype=np.uint8), "RGBA"),
        Image.fromarray(rng.integers(0, 256, (9, 13, 2), dtype=np.uint8), "LA"),
        rgb.quantize(17),
        Image.fromarray(rng.integers(0, 65536, (7, 5), dtype=np.uint16)),
        Image.fromarray(rng.integers(0, 2, (6, 10), dtype=bool)),
    ]
    return [_pillow_png(image, 1) for image in images]


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_decode_png_gives_pillows_pixels_in_the_mode_asked(mode):
    for data in _pngs():
        ours = decode_png(data, mode)
        with Image.open(io.BytesIO(data)) as opened:
            theirs = opened.convert(mode)
        assert (ours.mode, ours.size) == (theirs.mode, theirs.size)
        assert np.array_equal(np.asarray(ours), np.asarray(theirs)), Image.open(
            io.BytesIO(data)).mode


def test_decode_png_top_gives_pillows_pixels_of_the_top_rows():
    palette = Image.new("P", (40, 30))
    palette.putpalette([0, 0, 0, 250, 20, 20] * 128)
    ImageDraw.Draw(palette).rectangle((5, 5, 20, 25), fill=1)
    for data in [*_pngs(), _pillow_png(palette, 1)]:
        with Image.open(io.BytesIO(data)) as opened:
            whole = opened.convert("RGB") if opened.mode not in ("L", "RGB") else opened.copy()
        for rows in (1, max(1, whole.height // 3), whole.height, whole.height + 5):
            top = decode_png_top(data, rows)
            expected = whole.crop((0, 0, whole.width, min(rows, whole.height)))
            assert (top.mode, top.size) == (expected.mode, expected.size)
            assert np.array_equal(np.asarray(top), np.asarray(expected))


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_is_blank_sees_one_pixel_of_ink_anywhere(mode):
    page = Image.new(mode, (1024, 1400), "white")
    assert is_blank(page)
    for spot in [(0, 0), (1023, 1399), (517, 911)]:
        inked = page.copy()
        inked.putpixel(spot, (254,) * len(inked.getbands()))
        assert not is_blank(inked), spot
    assert is_blank(Image.new(mode, (3, 2), "black"))
