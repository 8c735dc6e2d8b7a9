"""latex-formula: truthful, non-blank, deterministic images, whatever batch an item is in."""

from __future__ import annotations

import io

from ocr2synth.pipelines.core.plan import sample_seed
from ocr2synth.renderers.base import Item, Reject, Sample
from ocr2synth.renderers.imaging import encode_image, ink_bbox
from ocr2synth.renderers.latex.formula_source import GeneratedFormulas
from PIL import Image


def items(count: int, offset: int = 0) -> list[Item]:
    source = GeneratedFormulas()
    return [source.item(sample_seed(7, "latex-formula", k), k)
            for k in range(offset, offset + count)]


def test_samples_are_cropped_grayscale_formulas_with_their_source_as_target(formula_renderer):
    batch = items(24)
    out = formula_renderer.render_batch(batch)
    samples = [(i, o) for i, o in zip(batch, out, strict=True) if isinstance(o, Sample)]
    assert len(samples) >= 22
    fonts = set()
    for item, sample in samples:
        assert sample.target == item.content
        assert sample.prompt == "OCR with format: " and sample.task == "format"
        assert sample.image.mode == "L"
        margin = sample.meta["margin"]
        x0, y0, x1, y1 = ink_bbox(sample.image)
        # ink starts exactly at the chosen margin on every side: cropped, not clipped
        assert (x0, y0) == (margin, margin)
        assert (sample.image.width - x1, sample.image.height - y1) == (margin, margin)
        fonts.add(sample.meta["font"])
    assert len(fonts) >= 3


def test_an_item_renders_to_the_same_bytes_in_any_batch(formula_renderer):
    batch = items(12)
    alone = formula_renderer.render_batch(batch[5:6])[0]
    mixed = formula_renderer.render_batch(list(reversed(batch)) + items(4, offset=100))[6]
    assert isinstance(alone, Sample) and isinstance(mixed, Sample)
    assert alone.target == mixed.target
    png = [encode_image(s.image, "png", 1, "auto") for s in (alone, mixed)]
    assert png[0] == png[1]


def test_display_style_draws_a_taller_fraction(formula_renderer):
    base = Item(k=0, seed=1, content=r"\frac{a}{b}")
    for seed in range(200):
        style = formula_renderer.style(Item(0, seed, base.content))
        if style["display"]:
            display_seed = seed
            break
    for seed in range(200):
        style = formula_renderer.style(Item(0, seed, base.content))
        if not style["display"]:
            inline_seed = seed
            break
    shown = formula_renderer.render_batch(
        [Item(0, display_seed, base.content), Item(1, inline_seed, base.content)]
    )
    heights = []
    for sample in shown:
        assert isinstance(sample, Sample)
        x0, y0, x1, y1 = ink_bbox(sample.image)
        heights.append((y1 - y0) / sample.meta["dpi"] / sample.meta["size"])
    assert heights[0] > heights[1] * 1.2


def test_bad_formulas_are_rejected_with_reasons_and_the_rest_render(formula_renderer):
    contents = ["x^2", r"\input{/etc/passwd}", r"\notacommand", r"\frac{a}{b", "y + 1"]
    out = formula_renderer.render_batch(
        [Item(k, 1000 + k, c) for k, c in enumerate(contents)]
    )
    assert isinstance(out[0], Sample) and isinstance(out[4], Sample)
    assert out[1] == Reject("forbidden", r"forbidden: \input")
    assert out[2].reason == "tex-error" and "Undefined control sequence" in out[2].detail
    assert out[3].reason == "unbalanced-braces"
    image = Image.open(io.BytesIO(encode_image(out[4].image, "png", 1, "auto")))
    assert image.size == out[4].image.size


def test_a_formula_wider_than_the_page_stays_on_one_line(formula_renderer):
    short, long = "a + b", " + ".join(["a"] * 40 + ["b"])
    seed = next(s for s in range(500)
                if not formula_renderer.style(Item(0, s, long))["display"])
    out = formula_renderer.render_batch([Item(0, seed, short), Item(1, seed, long)])
    heights = []
    for sample in out:
        assert isinstance(sample, Sample)
        x0, y0, x1, y1 = ink_bbox(sample.image)
        heights.append(y1 - y0)
    assert heights[0] == heights[1]
    assert out[1].image.width > 8 * out[0].image.width
