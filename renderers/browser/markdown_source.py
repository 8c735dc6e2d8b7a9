"""Content for `markdown-page`: documents as lists of Mathpix-markdown blocks.

A document is {"lang": "en"|"zh", "blocks": [{"kind", "md", "view"?}], "notes": [...]}:
- a block's `md` is its Mathpix markdown, exactly what the target holds when the block is
  visible; `view` (optional) is what the browser renders instead, when the two differ
  (footnote marks: the page shows a superscript number, the target says `[^n]`);
- a note is {"owner": block index, "n": number, "md": text}: shown at the page foot while
  its owner block is visible, written `[^n]: text` at the end of the target.

The generated documents reuse the latex-page grammar (English and Chinese prose, inline and
display math, lists, tabular tables, footnotes) and add bold/italic and markdown tables.
`MarkdownFiles` reads a user's `.md`/`.mmd` files, sanitized, one document per file.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from ocr2synth.renderers.base import Item, Source
from ocr2synth.renderers.latex.page_source import PageGrammar
from ocr2synth.renderers.text.prose import text_language

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


# Characters of generated text per page, with room to spare: a document is generated long
# enough for all its pages (a CJK character is about two Latin ones wide).
_PAGE_CHARS = {"en": 5000, "zh": 3000}


def _chars(block: dict[str, Any]) -> int:
    """About how many characters a grammar block puts on a page."""
    return (sum(len(text) for _, text in block.get("parts", [])) + len(block.get("text", ""))
            + len(block.get("math", "")) + len(block.get("latex", "")) // 2 + 20)


def generated_document(rng: random.Random, lang: str, min_chars: int = 0) -> dict[str, Any]:
    """The grammar's documents back to back, at least `min_chars` of markdown (and one to
    three documents when that is 0: more than a page, so the cut at the bottom is used)."""
    grammar = PageGrammar(rng, lang)
    doc = grammar.document()
    extra = rng.choice([0, 1, 1, 2])
    while extra > 0 or sum(map(_chars, doc["blocks"])) < min_chars:
        grammar.footnotes = 0
        more = grammar.document()["blocks"]
        if more and (more[0]["kind"] != "heading" or more[0]["level"] != 1):
            # its sections are numbered from 1 again: a new article, under its own title
            more.insert(0, {"kind": "heading", "level": 1, "text": grammar.prose.title()})
        doc["blocks"] += more
        extra -= 1
    return markdown_document(rng, doc["blocks"], lang, grammar.prose)


def markdown_document(rng: random.Random, grammar_blocks: list[dict[str, Any]], lang: str,
                      prose: Any) -> dict[str, Any]:
    """latex-page blocks (`page_source.py`) as a markdown document: text escaped, now and
    then emphasized, half the tables as markdown tables (their words from `prose`)."""
    blocks: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for block in grammar_blocks:
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
                blocks.append({"kind": "mdtable", "md": markdown_table(rng, prose)})
            else:
                blocks.append({"kind": "table", "md": block["latex"]})
    # no footnote syntax, labels or numbering: a block renders alike alone or among others,
    # so the page may render its blocks in one call
    return {"lang": lang, "blocks": blocks, "notes": notes, "blocks_standalone": True}


class GeneratedMarkdown(Source):
    """Generated Mathpix-markdown documents of `pages` pages each, `zh_share` of them in
    Chinese. Sample k is page k % pages of document k // pages, which is seeded by its first
    page's sample: a page starts where the one before it stopped, so what does not fit on a
    page is on the next one."""

    def __init__(self, zh_share: float = 0.2, pages: int = 4) -> None:
        if pages < 1:
            raise ValueError(f"pages must be >= 1, got {pages}")
        self.zh_share = zh_share
        self.pages = pages

    @lru_cache(maxsize=8)  # noqa: B019 - sources live as long as their worker
    def document(self, doc_seed: int) -> dict[str, Any]:
        rng = random.Random(doc_seed)
        lang = "zh" if rng.random() < self.zh_share else "en"
        return generated_document(rng, lang, _PAGE_CHARS[lang] * self.pages)

    def item_at(self, k: int, seed_of: Callable[[int], int]) -> Item:
        page = k % self.pages
        doc_seed = seed_of(k - page)
        doc = self.document(doc_seed)
        return Item(k=k, seed=seed_of(k),
                    content={**doc, "doc": f"generated:{doc_seed}", "doc_seed": doc_seed,
                             "page": page},
                    meta={"source": "generated", "lang": doc["lang"], "doc": doc_seed,
                          "page": page})

    def item(self, seed: int, k: int) -> Item:
        """The first page of the document `seed` seeds."""
        return self.item_at(0, lambda _: seed)


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
    """A folder (or one file) of `.md`/`.mmd` documents. Each file is one document of about
    (its characters / `page_chars`) pages, one item per page; the renderer fills page j from
    where page j-1 stopped. When a file needs more pages than estimated, the last page's
    overflow is reported in its meta (`blocks_left`); when it needs fewer, its last items
    are `document-ended` rejects."""

    SUFFIXES = (".md", ".mmd", ".markdown", ".txt")
    MAX_BYTES = 2 << 20

    def __init__(self, path: str | Path, page_chars: int = 3000,
                 sequential: bool = True) -> None:
        self.path = Path(path)
        self.sequential = sequential
        files = sorted(p for p in self.path.rglob("*") if p.suffix in self.SUFFIXES) \
            if self.path.is_dir() else [self.path]
        if not files:
            raise ValueError(f"{self.path}: no .md/.mmd files")
        self.page_chars = page_chars
        # (file, page, error) per item; oversized or undecodable files are one item that
        # the renderer rejects with the reason
        self.pages: list[tuple[Path, int, str]] = []
        for file in files:
            try:
                size = file.stat().st_size
                if size > self.MAX_BYTES:
                    self.pages.append((file, 0, f"too-long: {size} bytes "
                                                f"(limit {self.MAX_BYTES})"))
                    continue
                blocks, _ = _file_blocks(file)
            except UnicodeDecodeError as exc:
                self.pages.append((file, 0, f"bad-encoding: {exc}"[:200]))
                continue
            except OSError as exc:  # a broken link, a file we may not read, a folder
                self.pages.append((file, 0, f"unreadable: {exc.strerror or exc}"[:200]))
                continue
            chars = sum(len(block["md"]) for block in blocks)
            count = max(1, -(-chars // page_chars)) if blocks else 1
            self.pages += [(file, page, "") for page in range(count)]

    def size(self) -> int:
        return len(self.pages)

    def item_at(self, k: int, seed_of: Callable[[int], int]) -> Item:
        """Page k of its file (spread: the (file, page) that a seeded permutation puts at
        k); the seed at the file's first page styles the whole file."""
        position = self._position(k)
        page = self.pages[position][1]
        return self._item(k, position, seed_of(k), seed_of(position - page))

    def item(self, seed: int, k: int) -> Item:
        return self._item(k, self._position(k), seed, seed)

    def _position(self, k: int) -> int:
        from ocr2synth.renderers.text.spread import SPREAD_SEED, Permutation

        return Permutation(len(self.pages), SPREAD_SEED, self.sequential)(k)

    def _item(self, k: int, position: int, seed: int, doc_seed: int) -> Item:
        file, page, error = self.pages[position]
        meta = {"source": file.name, "page": page}
        if error:
            return Item(k=k, seed=seed, content={"lang": "en", "blocks": [], "notes": [],
                                                 "error": error}, meta=meta)
        blocks, lang = _file_blocks(file)
        return Item(k=k, seed=seed, content={"lang": lang, "notes": [], "blocks": blocks,
                                             "doc": f"{file}:{doc_seed}",
                                             "doc_seed": doc_seed, "page": page}, meta=meta)
