"""Jinja2 access to the document shells in the project's `templates/` folder."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import jinja2

TEMPLATES_DIR = Path(
    os.environ.get("OCR2SYNTH_TEMPLATES", Path(__file__).resolve().parents[1] / "templates")
)


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_template(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)
