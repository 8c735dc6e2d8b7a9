"""Real prose installed by Debian: the Debian Reference in English and Simplified Chinese.

`make setup` installs `debian-reference-en` and `debian-reference-zh-cn` (DocBook HTML
under /usr/share/debian-reference, GPL-2+). Each chapter becomes one document of blocks
in reading order: headings (h1-h3), paragraphs, list items; code (`pre`), tables and the
table of contents are left out, since a page of ours would show them as prose. A block
right before code, a table or an example is marked `before_left_out` (a page may leave
out a lead-in such as "as follows:" with what it led into: `passages.leads_in`).

This module reads files; it does not know pages, windows or renderers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ocr2synth.renderers.text.passages import clean, squash

ROOT = Path("/usr/share/debian-reference")
LANGS = {"en": "en", "zh": "zh-cn"}
PACKAGES = {"en": "debian-reference-en", "zh": "debian-reference-zh-cn"}
_SKIP = {"pre", "table", "script", "style", "head", "title"}
_TEXT = {"p", "h1", "h2", "h3", "h4", "dt"}
# left-out elements whose place in the text a lead-in may point at (not the tables of
# contents, nor the document's head)
_CONTENT = {"pre", "table"}
_CONTENT_DIVS = {"table", "informaltable", "figure", "example", "informalexample",
                 "mediaobject", "screenshot"}
# DocBook wrappers whose text is not prose in reading order: tables and their titles,
# figures, examples, the lists of tables and the tables of contents
_SKIP_DIVS = {"toc", "table", "informaltable", "list-of-tables", "list-of-figures",
              "list-of-examples", "figure", "example", "informalexample", "mediaobject",
              "screenshot"}


@dataclass(frozen=True)
class Chapter:
    name: str  # file name, for provenance
    lang: str
    blocks: list[dict[str, Any]]


class _Blocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[dict[str, Any]] = []
        self.skip = 0  # depth inside elements left out
        self.toc = 0  # div depth inside a wrapper left out (_SKIP_DIVS)
        self.lists: list[tuple[bool, int]] = []  # (ordered, items so far) per open list
        self.text: list[str] | None = None
        self.tag = ""
        self.title_p = False  # inside a <p class="title">, left out
        self.fresh = False  # a block was closed since the last left-out element began

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = dict(attrs).get("class") or ""
        if (not self.skip and not self.toc and self.fresh and self.blocks
                and (tag in _CONTENT or tag == "div" and _CONTENT_DIVS & set(classes.split()))):
            self.blocks[-1]["before_left_out"] = True
            self.fresh = False
        if tag in _SKIP:
            self.skip += 1
        elif tag == "div" and (self.toc or _SKIP_DIVS & set(classes.split())):
            self.toc += 1
        elif tag == "p" and "title" in classes.split():
            self.skip += 1
            self.title_p = True
        elif tag in ("ul", "ol"):
            self.lists.append((tag == "ol", 0))
        elif tag == "li" and self.lists:
            ordered, count = self.lists[-1]
            self.lists[-1] = (ordered, count + 1)
        elif tag in _TEXT and not self.skip and not self.toc:
            self.text, self.tag = [], tag

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self.title_p:
            self.skip, self.title_p = max(0, self.skip - 1), False
        elif tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "div" and self.toc:
            self.toc -= 1
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == self.tag and self.text is not None:
            self._close()

    def handle_data(self, data: str) -> None:
        if self.text is not None and not self.skip:
            self.text.append(data)

    def _close(self) -> None:
        text = squash(clean("".join(self.text or [])))
        self.text, tag = None, self.tag
        if not text:
            return
        self.fresh = True
        if tag[0] == "h":
            self.blocks.append({"kind": "heading", "level": min(3, int(tag[1])), "text": text})
        elif self.lists:
            ordered, number = self.lists[-1]
            self.blocks.append({"kind": "item", "ordered": ordered, "number": max(1, number),
                                "parts": [["t", text]]})
        else:
            self.blocks.append({"kind": "para", "parts": [["t", text]]})


def chapter_blocks(html: str) -> list[dict[str, Any]]:
    parser = _Blocks()
    parser.feed(html)
    parser.close()
    return parser.blocks


def _order(path: Path) -> tuple[int, str]:
    # the preface, chapters, then appendices: the book's reading order
    name = path.name
    return ({"pr": 0, "ch": 1, "ap": 2}.get(name[:2], 3), name)


@lru_cache(maxsize=2)
def chapters(lang: str, root: Path = ROOT) -> tuple[Chapter, ...]:
    """The book's chapters in `lang` (en, zh), parsed once per process."""
    suffix = LANGS[lang]
    files = sorted((p for p in root.glob(f"*.{suffix}.html")
                    if re.match(r"(pr|ch|ap)", p.name)), key=_order)
    if not files:
        raise FileNotFoundError(
            f"{root}: no *.{suffix}.html; install Debian's {PACKAGES[lang]} (make setup), "
            "or pass --param content=generated")
    return tuple(Chapter(f.name, lang, chapter_blocks(f.read_text(encoding="utf-8")))
                 for f in files)


@lru_cache(maxsize=4)
def license_of(package: str) -> str:
    """The `License:` of a Debian package's machine-readable copyright file."""
    path = Path("/usr/share/doc") / package / "copyright"
    try:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("License:"):
                return line.partition(":")[2].strip() or "unknown"
    except OSError:
        pass
    return "unknown"
