"""Real text as page blocks: cleaning, paragraphs, page-sized windows and the mix.

Blocks are latex-page's (`renderers/latex/page_source.py`): heading, para (parts of
["t", text] / ["m", math]), item, display, table. This module turns a document's text into
them, cuts a document into windows of about one page at paragraph boundaries (reading
order kept), and mixes generated display math, tables and lists among real paragraphs.
It does not know engines: what a renderer cannot draw is kept out here, by script.
"""

from __future__ import annotations

import random
import re
import unicodedata
from typing import Any

from ocr2synth.renderers.text.prose import text_language

Block = dict[str, Any]

_ELEMENT = re.compile(r"<(script|style|iframe|object|embed|noscript|template|svg|head)\b.*?"
                      r"(?:</\1\s*>|$)", re.S | re.I)
_TAG = re.compile(r"</?[A-Za-z][^>]{0,500}>|<!--.*?-->", re.S)
_ENTITY = {"&nbsp;": " ", "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"',
           "&#39;": "'"}
_SPACE = re.compile(r"[ \t\n\r\u00a0\u2000-\u200b\u202f\u3000]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])|(?<=[。！？])")
# What every page font draws: printable ASCII, the accented Latin-1 letters that TeX's OT1
# text fonts compose (not eth, thorn, guillemets or Latin-1 signs: "Command unavailable in
# encoding OT1", and the whole page would be a reject), the common typographic
# punctuation; for Chinese also CJK ideographs and full-width punctuation.
_LATIN = ("\u0020-\u007e\u00c0-\u00cf\u00d1-\u00d6\u00d8-\u00dd\u00df-\u00ef"
          "\u00f1-\u00f6\u00f8-\u00fd\u00ff\u2013\u2014\u2018\u2019\u201c\u201d\u2026")
_CJK = "\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e"
_DRAWABLE = {"en": re.compile(f"[{_LATIN}]*"), "zh": re.compile(f"[{_LATIN}{_CJK}]*")}


def clean(text: str) -> str:
    """Text with markup that could run or fetch removed (script, style, tags), controls
    dropped and Unicode composed: what a page may show as plain text."""
    text = _ELEMENT.sub(" ", text)
    previous = None
    while previous != text:  # nested or split tags
        previous, text = text, _TAG.sub(" ", text)
    for entity, char in _ENTITY.items():
        text = text.replace(entity, char)
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def drawable(text: str, lang: str) -> bool:
    """Whether every character of `text` is one the page fonts draw for `lang`; text in
    other scripts (right-to-left, emoji, box drawing) is left out rather than shown as
    boxes or made a TeX error."""
    return _DRAWABLE[lang].fullmatch(text) is not None


def squash(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def plain_blocks(text: str) -> list[Block]:
    """Paragraphs of plain text: blank-line separated, or line by line when the text has
    no blank lines (one paragraph per line, as many dumps keep them)."""
    text = clean(text)
    pieces = re.split(r"\n\s*\n", text) if re.search(r"\n\s*\n", text) else text.split("\n")
    return [{"kind": "para", "parts": [["t", squash(p)]]} for p in pieces if squash(p)]


def text_blocks(text: str, suffix: str) -> list[Block]:
    """A document's blocks by its kind: `.tex` sources, markdown, or plain text."""
    if suffix == ".tex":
        from ocr2synth.renderers.text.tex_prose import tex_blocks

        return tex_blocks(text)
    if suffix in (".md", ".mmd", ".markdown"):
        from ocr2synth.renderers.latex.page_source import parse_markdown

        return parse_markdown(clean(text))["blocks"]
    return plain_blocks(text)


def _text_of(block: Block) -> str:
    return (" ".join(t for kind, t in block.get("parts", []) if kind == "t")
            + block.get("text", ""))


def keep_drawable(blocks: list[Block], lang: str) -> list[Block]:
    """The blocks whose text the fonts draw, and that hold some text."""
    out = []
    for block in blocks:
        if block["kind"] in ("para", "item", "heading"):
            text = _text_of(block)
            if not text.strip() or not drawable(text, lang):
                continue
        out.append(block)
    return out


# A sentence that points at what comes next ("as follows:", "Try the following.", "尝试下列
# 例子", "如下所示。"): with that left out (code, a table), it would introduce nothing.
_POINTS_ON = re.compile(r"(?i:following|follows|below|e\.g\.|for example|example|such as|"
                        r"here is|here are|as shown|like this)|如下|下列|以下|下面|例子|例如|"
                        r"示例|所示|这里是|列表|下表")
_LAST_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")


def leads_in(text: str) -> bool:
    """Whether a paragraph introduces the block after it: it ends with a colon, or its
    last sentence points on. A page that leaves that block out leaves this out with it."""
    text = text.strip()
    if text.endswith((":", "：")):
        return True
    last = _LAST_SENTENCE.split(text.rstrip("。.!?！？ "))[-1]
    return _POINTS_ON.search(last) is not None


_UNBROKEN = re.compile(r"[^\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")


def keep_breakable(blocks: list[Block], longest: int = 24) -> list[Block]:
    """The blocks whose text has no run longer than `longest` characters without a place
    to break the line (URLs, file paths): TeX cannot break them, and a line that sticks
    out of its column is a rejected page, so such paragraphs are left out before."""
    return [b for b in blocks if b["kind"] not in ("para", "item", "heading")
            or max((len(run) for run in _UNBROKEN.findall(_text_of(b))), default=0)
            <= longest]


def renumber(blocks: list[Block]) -> list[Block]:
    """Ordered list items numbered 1, 2, ... within each run of them: an item left out
    (by script or by an unbreakable run) leaves no gap in the numbers."""
    out, number = [], 0
    for block in blocks:
        if block["kind"] == "item" and block.get("ordered"):
            number += 1
            block = {**block, "number": number}
        elif block["kind"] != "display":  # a formula inside a list does not end it
            number = 0
        out.append(block)
    return out


def block_chars(block: Block) -> int:
    return (sum(len(t) for _, t in block.get("parts", [])) + len(block.get("text", ""))
            + len(block.get("math", "")) + len(block.get("latex", "")) // 2)


def windows(blocks: list[Block], budget: int) -> list[tuple[int, int]]:
    """(start, stop) block ranges of at least `budget` characters each, in reading order;
    a window never ends on a heading (it moves to the next), and a short tail joins the
    window before it."""
    out: list[tuple[int, int]] = []
    start, chars = 0, 0
    for index, block in enumerate(blocks):
        chars += block_chars(block)
        if chars >= budget and block["kind"] != "heading":
            out.append((start, index + 1))
            start, chars = index + 1, 0
    if start < len(blocks):
        tail = blocks[start:]
        if out and (chars < budget // 2 or all(b["kind"] == "heading" for b in tail)):
            out[-1] = (out[-1][0], len(blocks))
        elif any(b["kind"] != "heading" for b in tail):
            out.append((start, len(blocks)))
    return out


def document_language(blocks: list[Block]) -> str:
    return text_language(" ".join(_text_of(b) for b in blocks[:50]))


def mix(blocks: list[Block], rng: random.Random, lang: str) -> list[Block]:
    """Real blocks with, between paragraphs, now and then a generated display formula or
    table, or a paragraph's own sentences set as a list: pages keep the variety GOT's
    full pages have while every word of prose stays real."""
    from ocr2synth.renderers.latex.page_source import PageGrammar

    grammar = PageGrammar(rng, lang)
    out: list[Block] = []
    for block in blocks:
        if block["kind"] == "para" and len(block["parts"]) == 1:
            sentences = [s.strip() for s in _SENTENCE.split(block["parts"][0][1]) if s.strip()]
            if 2 <= len(sentences) <= 6 and rng.random() < 0.1:
                ordered = rng.random() < 0.4
                out += [{"kind": "item", "ordered": ordered, "number": n + 1,
                         "parts": [["t", s]]} for n, s in enumerate(sentences)]
                continue
        out.append(block)
        if block["kind"] in ("para", "item"):
            roll = rng.random()
            if roll < 0.07:
                out.append({"kind": "display", "math": grammar.display_math()})
            elif roll < 0.1:
                out.append({"kind": "table", "latex": grammar.small_table()})
    return out


_TEX_QUOTES = str.maketrans({"'": "\u2019", "`": "\u2018"})


def typeset_quotes(blocks: list[Block]) -> list[Block]:
    """Straight quotes and dash ligatures as the characters TeX's text fonts print for
    them, so the target says what the page shows (`'` prints as a right quote, `"` as a
    right double quote, `--` as an en dash, `---` as an em dash)."""
    def fix(text: str) -> str:
        out, opening = [], True
        text = text.replace("---", "\u2014").replace("--", "\u2013")
        for ch in text.translate(_TEX_QUOTES):
            if ch == '"':
                out.append("\u201c" if opening else "\u201d")
                opening = not opening
            else:
                out.append(ch)
        return "".join(out)

    fixed = []
    for block in blocks:
        block = dict(block)
        if "parts" in block:
            block["parts"] = [[k, fix(t) if k == "t" else t] for k, t in block["parts"]]
        if "text" in block:
            block["text"] = fix(block["text"])
        fixed.append(block)
    return fixed
