"""The renderer names (ARCHITECTURE.md, "Contracts"), collected from the packages that
declare them.

Every package under `renderers/` with a `declare.py` contributes its `SPECS`; packages
elsewhere join through OCR2SYNTH_RENDERERS: comma-separated package names, or paths of
package folders (whose parent goes on sys.path). The runner forwards every OCR2SYNTH_*
variable to its actors, so they see the same registry. Nothing else
lists renderers: the CLI, the recipe check, the bench, the gallery and the demo recipe
read this registry.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from pathlib import Path

from ocr2synth.renderers.specs import RendererSpec

from ocr2synth import renderers

EXTRA_ENV = "OCR2SYNTH_RENDERERS"
# The order of the built-in packages in the registry (and so in the demo recipe); a
# package not named here comes after them, in name order.
_ORDER = ("latex", "music", "molecule", "browser", "tasks", "pdf", "chart")

REGISTRY: dict[str, RendererSpec] = {}


def _packages() -> list[str]:
    found = [m.name for m in pkgutil.iter_modules(renderers.__path__)
             if m.ispkg and importlib.util.find_spec(f"ocr2synth.renderers.{m.name}.declare")]
    found.sort(key=lambda name: (_ORDER.index(name) if name in _ORDER else len(_ORDER), name))
    extra = [_importable(p.strip()) for p in os.environ.get(EXTRA_ENV, "").split(",")
             if p.strip()]
    return [f"ocr2synth.renderers.{name}" for name in found] + extra


def _importable(package: str) -> str:
    """A package name as given, or a folder's name once its parent is on sys.path."""
    if os.sep not in package:
        return package
    path = Path(package).resolve()
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    return path.name


def load_registry() -> dict[str, RendererSpec]:
    """(Re)collect the specs in place, so every `REGISTRY` reference sees the result."""
    specs: dict[str, RendererSpec] = {}
    for package in _packages():
        for spec in importlib.import_module(f"{package}.declare").SPECS:
            if spec.name in specs:
                raise ValueError(f"renderer {spec.name!r} declared twice ({package})")
            specs[spec.name] = spec
    REGISTRY.clear()
    REGISTRY.update(specs)
    return REGISTRY


def get_spec(name: str) -> RendererSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown renderer {name!r} (known: {known})") from None


load_registry()
