"""Content for `markdown-page`: documents as lists of Mathpix-markdown blocks.

A document is {"lang": "en"|"zh", "blocks": [{"kind", "md", "view"?}], "notes": [...]}:
- a block's `md` is its Mathpix markdown, exactly what the target holds when the block is
  visible; `view` (optional) is what the browser renders instead, when the two differ
  (footnote marks: the page shows a superscript number, the target says `[^n]`);
- a note is {"owner": block index, "n": number, "md": text}: shown at the page foot while
  its owner block is visible, written `[^n]: text` at the end of the target.

The generated documents reuse the latex-page grammar (English and Chinese prose, inline and
display math, lists, tabular tables, footnotes) and add bold/italic and markdown tables.
`MarkdownFiles` splits a user's `.md`/`.mmd` files into page-sized pieces, sanitized.
"""

from __future__ import annotations

import copy
import random
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from renderers.base import Item, Source
from renderers.latex.page_source import PageGrammar
from renderers.text.prose import text_language

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~$])")


def escape(text: str) -> str:
    """Plain text as markdown that renders as exactly that text."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def emphasize(rng: random.Random, text: str, lang: str) -> str:
    """Escaped text with now and then a few words in bold or italic."""
    if lang != "en" or rng.random() > 0.35:
        return escape(text)
    words = text.split(" ")
    if len(words) < 6:
        return escape(text)
    start = rng.randrange(0, len(words) - 3)
    span = rng.randint(1, 3)
    mark = rng.choice(["**", "*"])
    inner = " ".join(words[start:start + span])
    if not re.fullmatch(r"[A-Za-z][A-Za-z ]*[A-Za-z]|[A-Za-z]", inner):
        return escape(text)
    return (escape(" ".join(words[:start]) + (" " if start else "")) + mark + inner + mark
            + escape((" " if start + span < len(words) else "")
                     + " ".join(words[start + span:])))


def _inline(rng: random.Random, parts: list[list[str]], lang: str,
            notes: list[dict[str, Any]], owner: int) -> tuple[str, str]:
    md, view = [], []
    for kind, text in parts:
        if kind == "m":
            md.append(f"\\({text}\\)")
            view.append(f"\\({text}\\)")
        elif kind == "f":
            number = len(notes) + 1
            notes.append({"owner": owner, "n": number, "md": escape(text)})
            md.append(f"[^{number}]")
            view.append(f"\\(^{{{number}}}\\)")
        else:
            chunk = emphasize(rng, text, lang)
            md.append(chunk)
            view.append(chunk)
    return "".join(md), "".join(view)


def markdown_table(rng: random.Random, prose: Any) -> str:
    columns = rng.randint(2, 4)
    header = [escape(prose.title().split(" ")[0]) for _ in range(columns)]
    rows = []
    for _ in range(rng.randint(2, 5)):
        row = [escape(prose.title().split(" ")[0])] + [
            f"{rng.uniform(0, 100):.{rng.randint(0, 2)}f}" for _ in range(columns - 1)]
        rows.append(row)
    align = ["---"] + [rng.choice(["---", "--:", ":-:"]) for _ in range(columns - 1)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def generated_document(rng: random.Random, lang: str) -> dict[str, Any]:
    """One to three of the grammar's documents back to back: more than a page, so that
    pages are full and the cut at the bottom is exercised."""
    grammar = PageGrammar(rng, lang)
    doc = grammar.document()
    for _ in range(rng.choice([0, 1, 1, 2])):
        grammar.footnotes = 0
        doc["blocks"] += grammar.document()["blocks"]
    blocks: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for block in doc["blocks"]:
        kind = block["kind"]
        if kind == "heading":
            blocks.append({"kind": "heading",
                           "md": "#" * block["level"] + " " + escape(block["text"])})
        elif kind in ("para", "item"):
            md, view = _inline(rng, block["parts"], lang, notes, len(blocks))
            if kind == "item":
                marker = f"{block['number']}. " if block.get("ordered") else "- "
                md, view = marker + md, marker + view
            entry = {"kind": kind, "md": md}
            if view != md:
                entry["view"] = view
            blocks.append(entry)
        elif kind == "display":
            blocks.append({"kind": "display", "md": f"\\[\n{block['math']}\n\\]"})
        elif kind == "table":
            if rng.random() < 0.5:
                blocks.append({"kind": "mdtable", "md": markdown_table(rng, grammar.prose)})
            else:
                blocks.append({"kind": "table", "md": block["latex"]})
    return {"lang": lang, "blocks": blocks, "notes": notes}


class GeneratedMarkdown(Source):
    """Generated Mathpix-markdown documents; `zh_share` of them in Chinese."""

    def __init__(self, zh_share: float = 0.2) -> None:
        self.zh_share = zh_share

    def item(self, seed: int, k: int) -> Item:
        rng = random.Random(seed)
        lang = "zh" if rng.random() < self.zh_share else "en"
        return Item(k=k, seed=seed, content=generated_document(rng, lang),
                    meta={"source": "generated", "lang": lang})


# -- user files ------------------------------------------------------------------------------

_ELEMENT = re.compile(r"<(script|style|iframe|object|embed|noscript|template|svg|math)\b.*?"
                      r"(?:</\1\s*>|$)", re.S | re.I)
_TAG = re.compile(r"</?[A-Za-z][^>]*>|<!--.*?-->", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\(\s*[^)]*\)")
_AUTOLINK = re.compile(r"<(?:https?|ftp|javascript|data|file):[^>]*>", re.I)
_ENV_OPEN = re.compile(r"^\\begin\{(\w+\*?)\}")


def sanitize(text: str) -> str:
    """Markdown with no way to fetch or run anything: raw HTML tags, images and link
    targets removed (a link keeps its text)."""
    text = _ELEMENT.sub("", text)  # elements whose content is code, not text
    text = _AUTOLINK.sub("", text)
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: m.group(1), text)
    previous = None
    while previous != text:  # nested or split tags
        previous, text = text, _TAG.sub("", text)
    return text  # a stray "<" stays: raw HTML is off in the renderer, so it shows as text


def split_blocks(text: str) -> list[dict[str, Any]]:
    """Blank-line separated blocks, keeping `\\[...\\]`, `$$...$$` and `\\begin...\\end`
    environments whole."""
    blocks: list[dict[str, Any]] = []
    current: list[str] = []
    closer: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if closer is None and not stripped:
            if current:
                blocks.append(_block("\n".join(current)))
                current = []
            continue
        if closer is None:
            if stripped.startswith("\\[") and "\\]" not in stripped:
                closer = "\\]"
            elif stripped == "$$" or (stripped.startswith("$$") and stripped.count("$$") == 1):
                closer = "$$"
            elif (env := _ENV_OPEN.match(stripped)) and f"\\end{{{env.group(1)}}}" not in stripped:
                closer = f"\\end{{{env.group(1)}}}"
        elif closer in stripped:
            closer = None
        current.append(line.rstrip())
    if current:
        blocks.append(_block("\n".join(current)))
    return blocks


def _block(md: str) -> dict[str, Any]:
    head = md.lstrip()
    kind = ("heading" if head.startswith("#") else "display" if head.startswith(("\\[", "$$"))
            else "table" if head.startswith("\\begin{tabular") else
            "mdtable" if head.startswith("|") else "para")
    return {"kind": kind, "md": md}


@lru_cache(maxsize=4)
def _file_blocks(file: Path) -> tuple[list[dict[str, Any]], str]:
    """A file's sanitized blocks and language. Cached: consecutive items are pieces of one
    file, which would otherwise be read, sanitized and split again for every piece."""
    text = sanitize(file.read_bytes().decode("utf-8"))
    return split_blocks(text), text_language(text)


class MarkdownFiles(Source):
    """A folder (or one file) of `.md`/`.mmd` documents, cut into page-sized pieces of
    about `page_chars` characters at block boundaries; one item per piece."""

    SUFFIXES = (".md", ".mmd", ".markdown", ".txt")
    MAX_BYTES = 2 << 20

    def __init__(self, path: str | Path, page_chars: int = 3000) -> None:
        self.path = Path(path)
        files = sorted(p for p in self.path.rglob("*") if p.suffix in self.SUFFIXES) \
            if self.path.is_dir() else [self.path]
        if not files:
            raise ValueError(f"{self.path}: no .md/.mmd files")
        self.page_chars = page_chars
        # (file, first block, end block) per piece; oversized or undecodable files are one
        # piece that the renderer rejects with the reason
        self.pieces: list[tuple[Path, int, int, str]] = []
        for file in files:
            try:
                size = file.stat().st_size
                if size > self.MAX_BYTES:
                    self.pieces.append((file, 0, 0, f"too-long: {size} bytes "
                                                      f"(limit {self.MAX_BYTES})"))
                    continue
                blocks, _ = _file_blocks(file)
            except UnicodeDecodeError as exc:
                self.pieces.append((file, 0, 0, f"bad-encoding: {exc}"[:200]))
                continue
            except OSError as exc:  # a broken link, a file we may not read, a folder
                self.pieces.append((file, 0, 0, f"unreadable: {exc.strerror or exc}"[:200]))
                continue
            start, used = 0, 0
            for index, block in enumerate(blocks):
                if used and used + len(block["md"]) > page_chars:
                    self.pieces.append((file, start, index, ""))
                    start, used = index, 0
                used += len(block["md"])
            if start < len(blocks):
                self.pieces.append((file, start, len(blocks), ""))

    def size(self) -> int:
        return len(self.pieces)

    def item(self, seed: int, k: int) -> Item:
        file, start, end, error = self.pieces[k % len(self.pieces)]
        meta = {"source": file.name, "blocks_from": start}
        if error:
            return Item(k=k, seed=seed, content={"lang": "en", "blocks": [], "notes": [],
                                                 "error": error}, meta=meta)
        blocks, lang = _file_blocks(file)
        return Item(k=k, seed=seed, content={"lang": lang, "notes": [],
                                             "blocks": copy.deepcopy(blocks[start:end])},
                    meta=meta)
