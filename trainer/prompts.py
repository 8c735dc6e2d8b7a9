"""GOT prompts: parsed from a shard's prompt string and written the way the model reads them.

Shards carry GOT's own prompt strings (`OCR: `, `[red] OCR: `, `[x1, y1, x2, y2] OCR: `,
...). transformers' `GotOcr2Processor` builds the same queries from flags, with small
differences in spacing (` OCR: `, `[red]  OCR: `). A model trained here is used through
that processor, so by default the trainer writes each query exactly as the processor
does; `style="verbatim"` keeps the shard's string instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ocr2synth.trainer.tokenizer import IM_END, IM_START, IMG_END, IMG_PAD, IMG_START

# The processor's fixed system turn (GOT inherits it from its Qwen chat template).
SYSTEM = "system\nYou should follow the instructions carefully and explain your answers in detail."

_PROMPT = re.compile(
    r"^(?:\[(?P<color>[a-z]+)\] )?"
    r"(?:\[(?P<box>\d+, \d+, \d+, \d+)\] )?"
    r"OCR(?P<format> with format)?"
    r"(?P<pages> across multi pages)?"
    r"(?P<crop> upon the patch reference)?: $"
)

PromptStyle = Literal["processor", "verbatim"]


@dataclass(frozen=True)
class Query:
    color: str | None = None
    box: tuple[int, int, int, int] | None = None  # on GOT's 0-1000 scale
    format: bool = False
    multi_page: bool = False
    crop: bool = False
    raw: str | None = None  # the shard's string
    parsed: bool = True  # False: not one of GOT's prompts, used as written in any style

    @classmethod
    def parse(cls, prompt: str) -> Query:
        match = _PROMPT.match(prompt)
        if match is None:
            return cls(raw=prompt, parsed=False)
        box = match["box"]
        return cls(
            color=match["color"],
            box=tuple(int(v) for v in box.split(", ")) if box else None,  # type: ignore[arg-type]
            format=bool(match["format"]),
            multi_page=bool(match["pages"]),
            crop=bool(match["crop"]),
            raw=prompt,
        )

    def processor_text(self) -> str:
        """The query as `GotOcr2Processor` writes it for the same flags."""
        if not self.parsed and self.raw is not None:
            return self.raw
        color = f"[{self.color}] " if self.color is not None else ""
        # The processor drops the box on multi-page inputs.
        box = str(list(self.box)) if self.box is not None and not self.multi_page else ""
        return (f"{color}{box} OCR{' with format' if self.format else ''}"
                f"{' across multi pages' if self.multi_page else ''}"
                f"{' upon the patch reference' if self.crop else ''}: ")

    def text(self, style: PromptStyle) -> str:
        if style == "verbatim" and self.raw is not None:
            return self.raw
        return self.processor_text()


def chat_prompt(query_text: str, n_image_tokens: int) -> str:
    """Everything before the answer: system turn, user turn with the image, assistant cue."""
    return (f"{IM_START}{SYSTEM}{IM_END}{IM_START}user\n"
            f"{IMG_START}{IMG_PAD * n_image_tokens}{IMG_END}\n{query_text}{IM_END}"
            f"{IM_START}assistant\n")
