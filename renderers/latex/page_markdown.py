"""latex-page's format target: a page's blocks as Mathpix markdown, in reading order,
footnotes last; and each block's own markdown, which the layout target's texts are.

This module knows the document's blocks, not TeX: it writes what the source holds.
"""

from __future__ import annotations

# A heading's markdown by level (its LaTeX is in renderers/latex/page.py).
MARKDOWN_HEADINGS = {1: "# ", 2: "## ", 3: "### "}


def markdown_inline(parts: list[list[str]], footnotes: list[str], counter: list[int]) -> str:
    out = []
    for kind, text in parts:
        if kind == "m":
            out.append(f"\\({text}\\)")
        elif kind == "f":
            counter[0] += 1
            footnotes.append(f"[^{counter[0]}]: {text}")
            out.append(f"[^{counter[0]}]")
        else:
            out.append(text)
    return "".join(out)


def page_markdown(blocks: list[dict], first_footnote: int = 0) -> str:
    """Mathpix markdown of the blocks a page shows, in reading order; footnotes last."""
    chunks, footnotes = page_chunks(blocks, first_footnote)
    out = []
    for n, (block, text) in enumerate(zip(blocks, chunks, strict=True)):
        # list items of one list sit on consecutive lines; other blocks are paragraphs
        previous_item = n > 0 and blocks[n - 1]["kind"] == "item"
        joiner = "\n" if block["kind"] == "item" and previous_item else "\n\n"
        out.append((joiner if out else "") + text)
    if footnotes:
        out.append("\n\n" + "\n".join(footnotes))
    return "".join(out)


def page_chunks(blocks: list[dict], first_footnote: int = 0) -> tuple[list[str], list[str]]:
    """Each block's own markdown, and the footnotes (`[^n]: text`) its blocks call, in
    order: the format target is these joined, the layout target's texts are these."""
    chunks: list[str] = []
    footnotes: list[str] = []
    counter = [first_footnote]
    for block in blocks:
        kind = block["kind"]
        if kind == "heading":
            text = MARKDOWN_HEADINGS[block["level"]] + block["text"]
        elif kind in ("para", "item"):
            text = markdown_inline(block["parts"], footnotes, counter)
            if kind == "item":
                text = (f"{block['number']}. " if block.get("ordered") else "- ") + text
        elif kind == "display":
            text = f"\\[{block['math']}\\]"
        else:
            text = block["latex"]
        chunks.append(text)
    return chunks, footnotes
