"""Running a checkpoint the way users will: `AutoProcessor` in, `generate`, text out.

Everything goes through the checkpoint's own `GotOcr2Processor`, so what `ocr2synth
generate` and `ocr2synth eval` measure is what a transformers user gets from the folder.
Boxes are the one exception: ours are on GOT's 0-1000 scale, the processor's `box` takes
pixels, so a box query reaches the processor as text (`Reader.encode`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from ocr2synth.trainer.model import GotOcr2ForConditionalGeneration  # stage-1 checkpoints too
from ocr2synth.trainer.prompts import Query, chat_prompt
from PIL import Image
from transformers import AutoProcessor

# GOT's generation settings (GOT/eval/eval_GOT_ocr.py and its demo): greedy, one beam, no
# 20-gram repeated, up to 4,096 new tokens; multi-crop cuts at most 6 tiles plus a thumbnail.
GOT_MAX_NEW_TOKENS = 4096
GOT_NO_REPEAT_NGRAM_SIZE = 20
GOT_MAX_TILES = 6


@dataclass
class Reader:
    model: GotOcr2ForConditionalGeneration
    processor: Any  # GotOcr2Processor
    device: torch.device
    max_new_tokens: int = GOT_MAX_NEW_TOKENS
    max_tiles: int = GOT_MAX_TILES
    no_repeat_ngram_size: int = GOT_NO_REPEAT_NGRAM_SIZE  # 0: off
    # GOT's eval script generates multi-crop inputs without the no-repeat rule.
    got_compat: bool = False

    @classmethod
    def load(cls, path: str | Path, device: str | None = None,
             max_new_tokens: int = GOT_MAX_NEW_TOKENS, dtype: torch.dtype | None = None,
             max_tiles: int = GOT_MAX_TILES,
             no_repeat_ngram_size: int = GOT_NO_REPEAT_NGRAM_SIZE,
             got_compat: bool = False) -> Reader:
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype = dtype or (torch.bfloat16 if dev.type == "cuda" else torch.float32)
        model = GotOcr2ForConditionalGeneration.from_pretrained(
            str(path), local_files_only=True, dtype=dtype).to(dev).eval()
        processor = AutoProcessor.from_pretrained(str(path), local_files_only=True)
        return cls(model, processor, dev, max_new_tokens, max_tiles, no_repeat_ngram_size,
                   got_compat)

    def processor_kwargs(self, query: Query) -> dict[str, Any]:
        """A parsed GOT prompt as the processor's flags (the inverse of Query.processor_text).

        No `box`: the processor takes a box in pixels and divides it by the image size,
        while ours is on GOT's 0-1000 scale already (see `encode`).
        """
        kwargs: dict[str, Any] = {}
        if query.format:
            kwargs["format"] = True
        if query.color is not None:
            kwargs["color"] = query.color
        if query.multi_page:
            kwargs["multi_page"] = True
        if query.crop:
            kwargs.update(crop_to_patches=True, max_patches=self.max_tiles)
        return kwargs

    def encode(self, images: list[Image.Image], query: Query) -> Any:
        """The processor's model inputs for one sample.

        A box query is handed over as text: converting 0-1000 back to pixels for the
        processor to convert again would lose a unit to rounding on many image sizes.
        The text is the processor's own chat prompt with one image placeholder, which it
        expands to the image's tokens as it does for the prompts it writes.
        """
        if not query.parsed:
            raise ValueError(f"not a GOT prompt the processor can write: {query.raw!r}")
        kwargs = self.processor_kwargs(query)
        if query.box is not None and not query.multi_page:
            image_kwargs = {k: v for k, v in kwargs.items()
                            if k in ("crop_to_patches", "max_patches")}
            return self.processor(images[0], text=chat_prompt(query.processor_text(), 1),
                                  return_tensors="pt", **image_kwargs)
        return self.processor(images if query.multi_page else images[0],
                              return_tensors="pt", **kwargs)

    def generation_kwargs(self, query: Query) -> dict[str, Any]:
        no_repeat = self.no_repeat_ngram_size
        if self.got_compat and query.crop:
            no_repeat = 0
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": False,
                                  "num_beams": 1}
        if no_repeat > 0:
            kwargs["no_repeat_ngram_size"] = no_repeat
        return kwargs

    @torch.inference_mode()
    def read(self, images: list[Image.Image], query: Query) -> str:
        """Greedy decoding of one sample: one image, or the pages of a multi-page query."""
        inputs = self.encode(images, query).to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        out = self.model.generate(**inputs, **self.generation_kwargs(query))
        answer = out[0, inputs["input_ids"].shape[1]:]
        return self.processor.decode(answer, skip_special_tokens=True)


def query_from_flags(prompt: str | None = None, format: bool = False,
                     box: tuple[int, int, int, int] | None = None, color: str | None = None,
                     multi_page: bool = False, crop: bool = False) -> Query:
    """`--prompt 'OCR with format: '` (a shard's string), or the same as flags."""
    if prompt is not None:
        return Query.parse(prompt)
    return Query(color=color, box=box, format=format, multi_page=multi_page, crop=crop)
