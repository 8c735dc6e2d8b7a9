"""ocr2synth: the project's one import name.

The repository keeps its layers as top-level folders (pipelines/, renderers/, trainer/,
templates/); an installed wheel holds them inside this package (pyproject's package-dir),
so nothing is installed under a generic top-level name. In a clone this package's path
also covers the repository root, so `ocr2synth.pipelines` is the folder pipelines/ there.
Code imports the layers only as `ocr2synth.X` (tests/test_architecture.py checks).
"""

from pathlib import Path

_HERE = Path(__file__).resolve().parent

if not (_HERE / "pipelines").is_dir():  # a clone, not an installed wheel
    __path__.append(str(_HERE.parent))
