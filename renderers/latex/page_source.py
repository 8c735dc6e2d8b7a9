"""Page content: documents as lists of blocks, from a prose generator or a user's
text/markdown files. Renderers do not choose content; this module does.

A document is JSON-like data: {"lang": "en"|"zh", "blocks": [block, ...]} where a block is
one of
  {"kind": "heading", "level": 1|2|3, "text": str}
  {"kind": "para", "parts": [[kind, text], ...]}   kind: "t" text, "m" inline math,
                                                   "f" footnote (its text)
  {"kind": "item", "ordered": bool, "number": int, "parts": [...]}   one list item
  {"kind": "display", "math": str}
  {"kind": "table", "latex": str}                  a tabular environment
Text is plain (the renderer escapes it); math and tables are LaTeX (the renderer lints).
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from ocr2synth.renderers.base import Item, Source
from ocr2synth.renderers.latex.formula_source import FormulaGrammar
from ocr2synth.renderers.latex.table_source import TableGrammar
from ocr2synth.renderers.text.prose import ChineseProse, EnglishProse, text_language

Block = dict[str, Any]


class PageGrammar:
    """A document of about one to two pages: sections of prose with lists, math, tables
    and footnotes, in English or Chinese."""

    def __init__(self, rng: random.Random, lang: str) -> None:
        self.rng = rng
        self.lang = lang
        self.prose = ChineseProse(rng) if lang == "zh" else EnglishProse(rng)
        self.math = FormulaGrammar(rng)
        self.tables = TableGrammar(rng)
        self.footnotes = 0

    def inline_math(self) -> str:
        for _ in range(20):
            formula = self.math.expression(self.rng.choice([1, 1, 2]))
            if len(formula) <= 40 and "\\\\" not in formula:
                return formula
        return self.math.symbol()

    def display_math(self) -> str:
        return self.math.formula(max_chars=90)

    def parts(self, sentences: tuple[int, int]) -> list[list[str]]:
        rng = self.rng
        parts: list[list[str]] = []
        for _ in range(rng.randint(*sentences)):
            sentence = self.prose.sentence()
            if rng.random() < 0.15:
                # inline math inside the sentence, before its final stop
                cut = sentence.rfind(" ") if self.lang == "en" else len(sentence) - 1
                joiner = " " if self.lang == "en" else ""
                parts.append(["t", sentence[:cut] + joiner])
                parts.append(["m", self.inline_math()])
                parts.append(["t", sentence[cut:] if self.lang == "zh" else
                              " " + sentence[cut + 1:]])
            else:
                parts.append(["t", sentence])
            if rng.random() < 0.04 and self.footnotes < 3:
                self.footnotes += 1
                parts.append(["f", self.prose.sentence()])
            parts.append(["t", " " if self.lang == "en" else ""])
        # merge neighbouring text parts and drop the trailing space
        merged: list[list[str]] = []
        for kind, text in parts:
            if merged and kind == "t" and merged[-1][0] == "t":
                merged[-1][1] += text
            else:
                merged.append([kind, text])
        if merged and merged[-1][0] == "t":
            merged[-1][1] = merged[-1][1].rstrip()
        return [p for p in merged if p[1]]

    def document(self) -> dict[str, Any]:
        rng = self.rng
        blocks: list[Block] = []
        if rng.random() < 0.5:
            blocks.append({"kind": "heading", "level": 1, "text": self.prose.title()})
        # about one page and a bit: TeX time is per page typeset, and one page is sampled
        budget = rng.randint(300, 650) if self.lang == "en" else rng.randint(600, 1200)
        section = subsection = 0
        while budget > 0:
            roll = rng.random()
            if roll < 0.17 and not self._heading_fits(blocks, 2 if roll < 0.12 else 3,
                                                      section):
                roll = 1.0  # a paragraph instead
            if roll < 0.12:
                section, subsection = section + 1, 0
                blocks.append({"kind": "heading", "level": 2,
                               "text": f"{section} {self.prose.title()}"})
                budget -= 5
            elif roll < 0.17:
                subsection += 1
                blocks.append({"kind": "heading", "level": 3,
                               "text": f"{section}.{subsection} {self.prose.title()}"})
                budget -= 5
            elif roll < 0.25:
                ordered = rng.random() < 0.4
                for number in range(1, rng.randint(2, 5) + 1):
                    blocks.append({"kind": "item", "ordered": ordered, "number": number,
                                   "parts": self.parts((1, 2))})
                    budget -= 20
            elif roll < 0.32:
                blocks.append({"kind": "display", "math": self.display_math()})
                budget -= 15
            elif roll < 0.36:
                blocks.append({"kind": "table", "latex": self.small_table()})
                budget -= 60
            else:
                para = self.parts((2, 5))
                blocks.append({"kind": "para", "parts": para})
                budget -= sum(len(t.split()) if self.lang == "en" else len(t)
                              for _, t in para)
        while blocks and blocks[-1]["kind"] == "heading":  # a heading heads something
            blocks.pop()
        return {"lang": self.lang, "blocks": blocks}

    @staticmethod
    def _heading_fits(blocks: list[Block], level: int, section: int) -> bool:
        """Sections are numbered in order and never empty: a subsection needs a section,
        and a heading may follow a heading only one level down ("2 Methods", "2.1 Data")."""
        if level == 3 and section == 0:
            return False
        return not blocks or blocks[-1]["kind"] != "heading" or level > blocks[-1]["level"]

    def small_table(self) -> str:
        """A table narrow enough for a column: few columns, no caption."""
        for _ in range(30):
            table = self.tables.table()
            if not table.startswith("\\caption") and table.count("&") // max(
                    1, table.count("\\\\")) <= 3 and len(table) < 900:
                return table
        return "\\begin{tabular}{lr}\n\\hline\nName & Value \\\\\n\\hline\n\\end{tabular}"


class GeneratedPages(Source):
    """Generated documents; `zh` (param) is the share of Chinese ones."""

    def __init__(self, zh_share: float = 0.2) -> None:
        self.zh_share = zh_share

    def item(self, seed: int, k: int) -> Item:
        rng = random.Random(seed)
        lang = "zh" if rng.random() < self.zh_share else "en"
        return Item(k=k, seed=seed, content=PageGrammar(rng, lang).document(),
                    meta={"source": "generated", "lang": lang})


_INLINE_MATH = re.compile(r"\\\((.+?)\\\)|(?<![\\$])\$([^$\n]+?)\$")
_HEADING = re.compile(r"^(#{1,3})\s+(.*)$")
_ITEM = re.compile(r"^(?:([-*+])|(\d+)[.)])\s+(.*)$")


def parse_markdown(text: str) -> dict[str, Any]:
    """A user's text or markdown as blocks: `#` headings, `-`/`1.` list items, `$$`/`\\[`
    display math, `$`/`\\(` inline math, blank-line separated paragraphs."""
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append({"kind": "para", "parts": inline_parts(" ".join(paragraph))})
            paragraph.clear()

    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        if not line:
            flush()
            continue
        if line.startswith(("$$", "\\[")):
            flush()
            close = "$$" if line.startswith("$$") else "\\]"
            body = line[2:]
            while close not in body and index < len(lines):
                body += " " + lines[index].strip()
                index += 1
            blocks.append({"kind": "display", "math": body.split(close)[0].strip()})
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            blocks.append({"kind": "heading", "level": len(heading.group(1)),
                           "text": heading.group(2).strip()})
            continue
        item = _ITEM.match(line)
        if item:
            flush()
            blocks.append({"kind": "item", "ordered": item.group(2) is not None,
                           "number": int(item.group(2) or 0),
                           "parts": inline_parts(item.group(3))})
            continue
        paragraph.append(line)
    flush()
    return {"lang": text_language(text), "blocks": blocks}


def inline_parts(text: str) -> list[list[str]]:
    parts: list[list[str]] = []
    last = 0
    for match in _INLINE_MATH.finditer(text):
        if match.start() > last:
            parts.append(["t", text[last:match.start()]])
        parts.append(["m", (match.group(1) or match.group(2)).strip()])
        last = match.end()
    if last < len(text):
        parts.append(["t", text[last:]])
    return parts


class PageFiles(Source):
    """A folder (or one file) of `.md`/`.mmd`/`.txt` documents, one item each."""

    SUFFIXES = (".md", ".mmd", ".txt", ".markdown")
    MAX_BYTES = 1 << 20

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        files = sorted(p for p in self.path.rglob("*") if p.suffix in self.SUFFIXES) \
            if self.path.is_dir() else [self.path]
        self.files = files
        if not self.files:
            raise ValueError(f"{self.path}: no .md/.mmd/.txt files")

    def size(self) -> int:
        return len(self.files)

    def item(self, seed: int, k: int) -> Item:
        file = self.files[k % len(self.files)]
        if file.stat().st_size > self.MAX_BYTES:
            # an oversized document becomes an item the renderer rejects, not a crash
            return Item(k=k, seed=seed, content={"lang": "en", "blocks": [],
                                                 "error": f"too-long: {file.stat().st_size}"
                                                          f" bytes (limit {self.MAX_BYTES})"},
                        meta={"source": file.name})
        text = file.read_text(encoding="utf-8", errors="replace")
        return Item(k=k, seed=seed, content=parse_markdown(text), meta={"source": file.name})
