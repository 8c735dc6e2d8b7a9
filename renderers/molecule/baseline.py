"""The bench's naive baseline for molecule: a fresh Python process per molecule, as a
shell loop over a drawing script does."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ocr2synth.renderers.base import Item

_DRAW_ONE_MOLECULE = """
import sys
from ocr2synth.renderers.base import Item
from ocr2synth.renderers.imaging import encode_image
from ocr2synth.renderers.molecule.renderer import MoleculeRenderer
sample = MoleculeRenderer({}, 20).render_one(Item(0, int(sys.argv[2]), sys.argv[1]))
if hasattr(sample, "image"):
    open(sys.argv[3], "wb").write(encode_image(sample.image, "png", 1, "auto"))
"""


def naive_molecule(items: list[Item]) -> float:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for item in items:
            subprocess.run([sys.executable, "-c", _DRAW_ONE_MOLECULE, item.content,
                            str(item.seed), str(Path(tmp, "one.png"))],
                           check=True, capture_output=True, timeout=120)
    return len(items) / (time.perf_counter() - started)
