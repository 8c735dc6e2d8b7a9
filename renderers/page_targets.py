"""The page renderers' choice of target: `--param target=format|layout`, declared by each
page renderer's spec, and the gallery kind that follows from it. Kept apart from
`renderers/layout.py` (which builds and checks layout targets) so that a `declare.py`
importing it loads no pixel code."""

from __future__ import annotations

from collections.abc import Callable

from ocr2synth.renderers.params import Param, choice

TARGETS = ("format", "layout")


def target_param() -> Param:
    """The `target` parameter every page renderer declares."""
    return choice("target", "format", "format: the page's own target; layout: a JSON list in "
                  "reading order of {category, bbox (0-1000), text} per block "
                  "(renderers/layout.py)", TARGETS)


def kind_by_task(kind: str) -> Callable[[str, str, dict], str]:
    """A page renderer's gallery kind: `layout` for its layout rows, else `kind`."""
    def kind_of(task: str, target: str, meta: dict) -> str:
        return "layout" if task == "layout" else kind

    return kind_of
