"""A test-only renderer that emits one prebuilt sample as fast as it can: what the driver's
ceiling is measured with (tests/bench_driver.py). It joins the registry through
OCR2SYNTH_RENDERERS=tests/data/prebuilt_renderer."""
from __future__ import annotations

from ocr2synth.renderers.params import integer
from ocr2synth.renderers.specs import RendererSpec, ref

SPECS = [
    RendererSpec(
        "prebuilt", ref("prebuilt_renderer.prebuilt:Counter"),
        ref("prebuilt_renderer.prebuilt:Prebuilt"),
        batch_size=64,
        description="one prebuilt noise image, the same for every sample (driver bench)",
        params=(integer("kib", 45, "image size in KiB (GOT's stage-2 mix averages ~45)",
                        1, 4096),),
        target_kind="text",
        naive=ref("prebuilt_renderer.prebuilt:naive"),
        got_mix={},
        demo=(),
        pair_proof="none: a bench fixture, never a dataset",
    ),
]
