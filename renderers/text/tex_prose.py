"""A `.tex` source as page blocks: sections, prose and math, macros resolved or dropped.

Sectioning commands become headings, blank-line paragraphs become paragraphs with their
inline math kept as math, `\\[..\\]` and `equation`/`align`-style environments become
display math. Text macros (`\\emph`, `\\textbf`, ...) keep their argument; references,
citations, labels, footnotes, figures, tables and every unknown macro are dropped with
their arguments. A paragraph that still holds a backslash or a brace after that is left
out: TeX source is never shown as prose.

This module knows TeX's surface syntax only; it does not typeset or check formulas.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ocr2synth.renderers.text.passages import squash

Block = dict[str, Any]

_COMMENT = re.compile(r"(?<!\\)%.*")
_SECTION = re.compile(r"\\(section|subsection|subsubsection|chapter|paragraph)\*?\s*"
                      r"(?:\[[^\]]*\])?\{([^{}]*)\}")
_DISPLAY_ENVS = ("equation", "equation*", "align", "align*", "gather", "gather*",
                 "multline", "multline*", "displaymath")
_DROP_ENVS = ("figure", "figure*", "table", "table*", "tabular", "verbatim", "lstlisting",
              "thebibliography", "tikzpicture", "picture", "minted", "comment")
_KEEP_ARG = ("emph", "textbf", "textit", "texttt", "textsf", "textsc", "textrm", "underline",
             "mbox", "text", "textup", "textsl")
_SPECIAL = {"\\%": "%", "\\&": "&", "\\_": "_", "\\#": "#", "\\$": "$", "\\{": "{",
            "\\}": "}", "~": " ", "\\,": " ", "\\ ": " ", "\\\\": " ", "---": "\u2014",
            "--": "\u2013", "``": "\u201c", "''": "\u201d", "\\ldots": "\u2026",
            "\\dots": "\u2026", "\\LaTeX": "LaTeX", "\\TeX": "TeX", "\\-": ""}
_INLINE = re.compile(r"\\\((.+?)\\\)|(?<!\\)\$([^$]+?)(?<!\\)\$", re.S)
_MACRO = re.compile(r"\\[A-Za-z@]+\*?(?:\s*\[[^\]]*\])*(?:\s*\{[^{}]*\})*")


def body(text: str) -> str:
    text = "\n".join(_COMMENT.sub("", line) for line in text.splitlines())
    begin, end = text.find("\\begin{document}"), text.find("\\end{document}")
    if begin >= 0:
        text = text[begin + len("\\begin{document}"):end if end > begin else None]
    return text


def _drop_envs(text: str) -> str:
    for env in _DROP_ENVS:
        name = re.escape(env)
        text = re.sub(rf"\\begin\{{{name}\}}.*?\\end\{{{name}\}}", "\n\n", text, flags=re.S)
    return text


def _text(raw: str) -> str:
    """Prose with text macros resolved and the rest dropped."""
    for _ in range(4):  # nested \emph{\textbf{..}}
        raw = re.sub(rf"\\(?:{'|'.join(_KEEP_ARG)})\s*\{{([^{{}}]*)\}}", r"\1", raw)
    for key in sorted(_SPECIAL, key=len, reverse=True):
        raw = raw.replace(key, _SPECIAL[key])
    raw = _MACRO.sub("", raw)
    return squash(raw.replace("{", "").replace("}", "") if raw.count("{") == raw.count("}")
                  else raw)


def _parts(paragraph: str) -> list[list[str]] | None:
    parts: list[list[str]] = []
    last = 0
    for match in _INLINE.finditer(paragraph):
        before = _text(paragraph[last:match.start()])
        if before:
            parts.append(["t", before + (" " if paragraph[match.start() - 1:match.start()]
                                         .isspace() else "")])
        parts.append(["m", squash(match.group(1) or match.group(2))])
        last = match.end()
    rest = _text(paragraph[last:])
    if rest:
        parts.append(["t", (" " if paragraph[last:last + 1].isspace() and parts else "")
                      + rest])
    if not any(kind == "t" for kind, _ in parts):
        return None
    if any(kind == "t" and ("\\" in text or "{" in text or "}" in text)
           for kind, text in parts):
        return None  # something unresolved: never shown raw
    return parts


def tex_blocks(text: str) -> list[Block]:
    text = _drop_envs(body(clean_tex(text)))
    # display math and section headings become their own paragraphs
    envs = "|".join(re.escape(e) for e in _DISPLAY_ENVS)
    text = re.sub(rf"\\begin\{{({envs})\}}(.*?)\\end\{{\1\}}",
                  lambda m: f"\n\n\x01{m.group(2)}\x01\n\n", text, flags=re.S)
    text = re.sub(r"\\\[(.*?)\\\]", lambda m: f"\n\n\x01{m.group(1)}\x01\n\n", text, flags=re.S)
    text = re.sub(r"\$\$(.*?)\$\$", lambda m: f"\n\n\x01{m.group(1)}\x01\n\n", text, flags=re.S)
    text = _SECTION.sub(lambda m: f"\n\n\x02{m.group(1)}\x02{m.group(2)}\n\n", text)
    blocks: list[Block] = []
    for piece in re.split(r"\n\s*\n", text):
        piece = piece.strip()
        if not piece:
            continue
        if piece.startswith("\x01"):
            math = squash(piece.strip("\x01").replace("\\label", "\\relax\\label"))
            math = re.sub(r"\\relax\\label\{[^{}]*\}", "", math).strip()
            if math and "&" not in math and "\\\\" not in math:
                blocks.append({"kind": "display", "math": math})
            continue
        if piece.startswith("\x02"):
            _, command, title = piece.split("\x02", 2)
            level = 2 if command in ("chapter", "section") else 3
            title = _text(title)
            if title and "\\" not in title:
                blocks.append({"kind": "heading", "level": level, "text": title})
            continue
        parts = _parts(piece)
        if parts:
            blocks.append({"kind": "para", "parts": parts})
    return blocks


def clean_tex(text: str) -> str:
    """Controls dropped and Unicode composed; `<` and `>` stay (they are math in TeX)."""
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


_INLINE_MIN = 6  # shorter inline math ($x$, $n$) is a symbol, not a formula worth a sample


def tex_formulas(text: str) -> list[str]:
    """The math of a `.tex` source in reading order: display environments, `\\[..\\]`,
    `$$..$$`, and inline math of at least a few characters; aligned (`&`, `\\\\`) math left out,
    since latex-formula typesets one display formula."""
    text = _drop_envs(body(clean_tex(text)))
    envs = "|".join(re.escape(e) for e in _DISPLAY_ENVS)
    pattern = re.compile(rf"\\begin\{{({envs})\}}(?P<a>.*?)\\end\{{\1\}}|\\\[(?P<b>.*?)\\\]"
                         r"|\$\$(?P<c>.*?)\$\$|\\\((?P<d>.+?)\\\)|(?<![\\$])\$(?P<e>[^$]+?)"
                         r"(?<!\\)\$", re.S)
    out: list[str] = []
    for match in pattern.finditer(text):
        math = next(g for g in match.group("a", "b", "c", "d", "e") if g is not None)
        math = squash(re.sub(r"\\label\{[^{}]*\}", "", math))
        inline = match.group("d") is not None or match.group("e") is not None
        if not math or "&" in math or "\\\\" in math or (inline and len(math) < _INLINE_MIN):
            continue
        out.append(math)
    return out
