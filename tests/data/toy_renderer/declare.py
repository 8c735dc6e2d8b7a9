from __future__ import annotations

from ocr2synth.renderers.params import flag, integer
from ocr2synth.renderers.specs import RendererSpec, ref

SPECS = [
    RendererSpec(
        "toy", ref("toy_renderer.toy:ToyWords"), ref("toy_renderer.toy:ToyRenderer"),
        batch_size=4,
        description="a word drawn by Pillow (target: the word)",
        params=(integer("size", 64, "canvas height in pixels", 16, 512),
                flag("fail", False, "raise in the constructor")),
        target_kind="text",
        naive=ref("toy_renderer.toy:naive"),
        got_mix={1: 1000},
        demo=({"count": 4},),
        pair_proof="the word drawn is the target",
    ),
]
