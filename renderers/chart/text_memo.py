"""Memos of Matplotlib's text layouts and font lookups while chart-mpl draws and checks a
chart.

Matplotlib lays a text out again (its font looked up, the font's height tables read, each
line measured, the box rotated and aligned) every time anything asks where the text is: the
constrained layout engine twice, the title placement, the tick label placement, the draw
itself and the renderer's clash check each ask for every tick label of a chart, so one
chart lays out the same few strings six to eight times. `Text._get_layout` is a function of
the text and of the properties `_key` lists (and of the rcParams that steer font lookup and
metrics, in `_RC`), so its result can be remembered, within a chart and across charts:
tick labels such as "0", "20", "40" recur in every chart of a style and size.

Font lookups: Matplotlib's own cache of `findfont` keys on every `font.*` rcParam,
`font.family` and `font.size` included, and holds 1,024 entries; chart-mpl sets both per
chart, so in a long-lived worker most lookups score every installed font again (tens of
ms each, for a CJK font set). The file found depends only on the font's fields other than
its size (every installed font is scalable, and a scalable font scores 0 on size) and on
the generic family lists (`_FAMILY_RC`): `_found` keys on those.

This module does not know charts. It swaps `Text._get_layout` (private) and
`FontManager.findfont` while a `with remembered_layouts(memo):` block runs and puts them
back after; the renderer holds the memo. What it returns for a key is what Matplotlib
computed for that key, so drawing with it gives the same pixels as without
(tests/test_chart_mpl.py holds the renderer to that).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.font_manager import FontManager, FontProperties, fontManager
from matplotlib.text import Text

# rcParams read while a text is measured: hinting and kerning by the Agg renderer, the
# generic family lists and math fonts by the font lookup
_RC = ("text.hinting", "text.hinting_factor", "text.kerning_factor", "text.antialiased",
       "text.usetex", "text.parse_math", "_internal.classic_mode", "font.serif",
       "font.sans-serif", "font.monospace", "font.cursive", "font.fantasy",
       "mathtext.fontset", "mathtext.default", "mathtext.fallback", "mathtext.rm",
       "mathtext.it", "mathtext.bf", "mathtext.sf", "mathtext.tt", "mathtext.cal")
_FAMILY_RC = ("font.serif", "font.sans-serif", "font.cursive", "font.fantasy",
              "font.monospace")
# a memo is dropped whole past this size: entries are pure, so dropping changes no result
MAX_ENTRIES = 50_000

_ORIGINAL = Text._get_layout
_FINDFONT = FontManager.findfont
_active: list[dict[tuple, Any]] = []


def _rc_key(names: tuple[str, ...] = _RC) -> tuple:
    rc = matplotlib.rcParams
    # dict.get skips RcParams' per-read validation: these are read on every lookup
    values = (dict.get(rc, name) for name in names)
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


def _fonts_key(manager: FontManager) -> tuple[int, int]:
    return id(manager.ttflist), len(manager.ttflist)


def _key(text: Text, renderer: Any) -> tuple:
    font = text._fontproperties
    # the font's fields, not the FontProperties: it is mutable, and equal by hash alone
    font_key = (tuple(font.get_family()), font.get_style(), font.get_variant(),
                font.get_weight(), font.get_stretch(), font.get_size(), font.get_file(),
                font.get_math_fontfamily())
    # the font list: a rebuilt or extended font cache may resolve a family to another file
    return (type(renderer), getattr(renderer, "dpi", None), text.get_figure(root=True).dpi,
            _fonts_key(fontManager), text._get_wrapped_text(), font_key, text.get_rotation(),
            text._horizontalalignment, text._verticalalignment, text.get_rotation_mode(),
            text._get_multialignment(), text._linespacing, text.get_usetex(),
            text._parse_math, _rc_key())


def _remembered(self: Text, renderer: Any) -> Any:
    memo = _active[-1]
    key = _key(self, renderer)
    layout = memo.get(key)
    if layout is None:
        if len(memo) >= MAX_ENTRIES:
            memo.clear()
        layout = memo[key] = _ORIGINAL(self, renderer)
    return layout


def _found(self: FontManager, prop: Any, fontext: str = "ttf", directory: Any = None,
           fallback_to_default: bool = True, rebuild_if_missing: bool = True) -> Any:
    if (not isinstance(prop, FontProperties) or self is not fontManager
            or not _all_scalable(self)):
        return _FINDFONT(self, prop, fontext, directory, fallback_to_default,
                         rebuild_if_missing)
    memo = _active[-1]
    key = ("findfont", tuple(prop.get_family()), prop.get_style(), prop.get_variant(),
           prop.get_weight(), prop.get_stretch(), prop.get_file(), fontext, directory,
           _fonts_key(self), fallback_to_default, rebuild_if_missing, _rc_key(_FAMILY_RC))
    found = memo.get(key)
    if found is None:
        if len(memo) >= MAX_ENTRIES:
            memo.clear()
        found = memo[key] = _FINDFONT(self, prop, fontext, directory, fallback_to_default,
                                      rebuild_if_missing)
    return found


_scalable: dict[tuple[int, int], bool] = {}


def _all_scalable(manager: FontManager) -> bool:
    """Whether every font `manager` lists is scalable (size plays no part in choosing one);
    asked once per font list (a rebuilt font cache is a new list)."""
    key = _fonts_key(manager)
    if key not in _scalable:
        _scalable.clear()
        _scalable[key] = all(font.size == "scalable" for font in manager.ttflist)
    return _scalable[key]


@contextmanager
def remembered_layouts(memo: dict[tuple, Any]) -> Iterator[None]:
    """Text layouts and font files looked up in `memo` (and added to it) inside the
    block."""
    _active.append(memo)
    Text._get_layout = _remembered  # type: ignore[method-assign]
    FontManager.findfont = _found  # type: ignore[method-assign]
    try:
        yield
    finally:
        _active.pop()
        if not _active:
            Text._get_layout = _ORIGINAL  # type: ignore[method-assign]
            FontManager.findfont = _FINDFONT  # type: ignore[method-assign]
