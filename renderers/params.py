"""Renderer parameter schemas: what each key of an entry's `params` takes.

A renderer declares one `Param` per key it reads (ARCHITECTURE.md, "Adding a renderer").
The recipe reader checks an entry's params against it before any work starts, so a typo
or a value out of range fails in one line instead of being ignored, or killing every
sample once the job runs. Checking never rewrites params: the renderer still receives
exactly what the recipe says (defaults stay the renderer's own), so output is unchanged.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Choices = tuple[str, ...] | Callable[[], Iterable[str]]


class ParamError(ValueError):
    """A parameter that breaks its renderer's schema; the message is one line."""


def _num(value: Any, kind: str) -> bool:
    # bool is an int in Python; `dpi: true` is still a mistake
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind == "int" else isinstance(value, int | float)


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else f"{value!r}"


@dataclass(frozen=True)
class Param:
    """One key: its type, allowed values, default (as the renderer applies it) and doc.

    kind: int, float, bool, str, pair ([lo, hi] of `item`), list (non-empty list of
    `item`), choice (one of `choices`), choices (a non-empty list of them), choice-or-list
    (either), mapping (an object; `check` looks inside).
    """

    name: str
    kind: str
    default: Any
    doc: str
    lo: float | None = None
    hi: float | None = None
    item: str = "int"  # the element type of a pair or a list
    choices: Choices | None = None
    # For a mapping: a further check of its value, returning a problem or None.
    check: Callable[[Any], str | None] | None = None

    def allowed(self) -> list[str]:
        choices = self.choices() if callable(self.choices) else self.choices
        return list(choices or ())

    def _bounds(self) -> str:
        if self.lo is not None and self.hi is not None:
            return f" in {self.lo:g}..{self.hi:g}"
        if self.lo is not None:
            return f" >= {self.lo:g}"
        if self.hi is not None:
            return f" <= {self.hi:g}"
        return ""

    def _in_bounds(self, value: float) -> bool:
        return ((self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi))

    def expects(self) -> str:
        """What is allowed, in words: the end of an error message and the help line."""
        kind, bounds = self.kind, self._bounds()
        if kind in ("int", "float"):
            return f"{'an integer' if kind == 'int' else 'a number'}{bounds}"
        if kind == "bool":
            return "true or false"
        if kind == "str":
            return "a string"
        if kind == "pair":
            return f"[lo, hi] with lo <= hi, {self.item}s{bounds}"
        if kind == "list":
            return f"a non-empty list of {self.item}s{bounds}"
        if kind == "mapping":
            return "a mapping"
        names = ", ".join(self.allowed())
        if kind == "choice":
            return f"one of {names}"
        if kind == "choices":
            return f"a non-empty list from {names}"
        return f"one of {names}, or a non-empty list of them"

    def problem(self, value: Any) -> str | None:
        """None when `value` fits; else what is wrong with it."""
        kind = self.kind
        if kind in ("int", "float"):
            ok = _num(value, kind) and self._in_bounds(value)
        elif kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "str":
            ok = isinstance(value, str)
        elif kind == "pair":
            ok = (isinstance(value, list | tuple) and len(value) == 2
                  and all(_num(v, self.item) and self._in_bounds(v) for v in value)
                  and value[0] <= value[1])
        elif kind == "list":
            ok = (isinstance(value, list | tuple) and len(value) > 0
                  and all(_num(v, self.item) and self._in_bounds(v) for v in value))
        elif kind == "mapping":
            if not isinstance(value, dict):
                ok = False
            else:
                return self.check(value) if self.check else None
        else:
            return self._choice_problem(value)
        return None if ok else f"got {_show(value)}"

    def _choice_problem(self, value: Any) -> str | None:
        allowed = self.allowed()
        many = self.kind in ("choices", "choice-or-list") and isinstance(value, list | tuple)
        if self.kind == "choices" and not many:
            return f"got {_show(value)}"
        values = list(value) if many else [value]
        if not values:
            return "got an empty list"
        for v in values:
            if v not in allowed:
                close = difflib.get_close_matches(str(v), [str(a) for a in allowed], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                return f"unknown {_show(v)}{hint}"
        return None

    def help(self) -> str:
        return f"{self.name}: {self.expects()} (default {self.default!r}): {self.doc}"


def integer(name: str, default: Any, doc: str, lo: float | None = None,
            hi: float | None = None) -> Param:
    return Param(name, "int", default, doc, lo, hi)


def number(name: str, default: Any, doc: str, lo: float | None = None,
           hi: float | None = None) -> Param:
    return Param(name, "float", default, doc, lo, hi)


def flag(name: str, default: bool, doc: str) -> Param:
    return Param(name, "bool", default, doc)


def text(name: str, default: str, doc: str) -> Param:
    return Param(name, "str", default, doc)


def pair(name: str, default: Any, doc: str, lo: float | None = None, hi: float | None = None,
         item: str = "int") -> Param:
    return Param(name, "pair", default, doc, lo, hi, item)


def numbers(name: str, default: Any, doc: str, lo: float | None = None,
            hi: float | None = None, item: str = "int") -> Param:
    return Param(name, "list", default, doc, lo, hi, item)


def choice(name: str, default: Any, doc: str, choices: Choices, kind: str = "choice") -> Param:
    return Param(name, kind, default, doc, choices=choices)


def mapping(name: str, default: Any, doc: str,
            check: Callable[[Any], str | None] | None = None) -> Param:
    return Param(name, "mapping", default, doc, check=check)


def check_params(schema: tuple[Param, ...], params: Any, renderer: str) -> None:
    """Raise ParamError naming the first key that breaks `schema` and what it allows."""
    if not isinstance(params, dict):
        raise ParamError(f"params: expected a mapping, got {type(params).__name__}")
    by_name = {p.name: p for p in schema}
    for key, value in params.items():
        param = by_name.get(key)
        if param is None:
            names = sorted(by_name)
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            allowed = ", ".join(names) if names else "none"
            raise ParamError(f"params.{key}: {renderer} has no parameter {key!r}{hint} "
                             f"(allowed: {allowed})")
        problem = param.problem(value)
        if problem is not None:
            raise ParamError(f"params.{key}: {problem}; {renderer} takes {param.expects()}")
