"""Running a checkpoint the way users will: `AutoProcessor` in, `generate`, text out.

Everything goes through the checkpoint's own `GotOcr2Processor`, so what `ocr2synth
generate` and `ocr2synth eval` measure is what a transformers user gets from the folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from transformers import AutoProcessor, GotOcr2ForConditionalGeneration

from trainer.prompts import Query


@dataclass
class Reader:
    model: GotOcr2ForConditionalGeneration
    processor: Any  # GotOcr2Processor
    device: torch.device
    max_new_tokens: int = 512
    max_tiles: int = 12

    @classmethod
    def load(cls, path: str | Path, device: str | None = None, max_new_tokens: int = 512,
             dtype: torch.dtype | None = None) -> Reader:
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype = dtype or (torch.bfloat16 if dev.type == "cuda" else torch.float32)
        model = GotOcr2ForConditionalGeneration.from_pretrained(
            str(path), local_files_only=True, dtype=dtype).to(dev).eval()
        processor = AutoProcessor.from_pretrained(str(path), local_files_only=True)
        return cls(model, processor, dev, max_new_tokens)

    def processor_kwargs(self, query: Query) -> dict[str, Any]:
        """A parsed GOT prompt as the processor's flags (the inverse of Query.processor_text)."""
        kwargs: dict[str, Any] = {}
        if query.format:
            kwargs["format"] = True
        if query.box is not None and not query.multi_page:
            kwargs["box"] = list(query.box)
        if query.color is not None:
            kwargs["color"] = query.color
        if query.multi_page:
            kwargs["multi_page"] = True
        if query.crop:
            kwargs.update(crop_to_patches=True, max_patches=self.max_tiles)
        return kwargs

    @torch.inference_mode()
    def read(self, images: list[Image.Image], query: Query) -> str:
        """Greedy decoding of one sample: one image, or the pages of a multi-page query."""
        if not query.parsed:
            raise ValueError(f"not a GOT prompt the processor can write: {query.raw!r}")
        kwargs = self.processor_kwargs(query)
        inputs = self.processor(images if query.multi_page else images[0],
                                return_tensors="pt", **kwargs)
        inputs = inputs.to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens,
                                  do_sample=False)
        answer = out[0, inputs["input_ids"].shape[1]:]
        return self.processor.decode(answer, skip_special_tokens=True)


def query_from_flags(prompt: str | None = None, format: bool = False,
                     box: tuple[int, int, int, int] | None = None, color: str | None = None,
                     multi_page: bool = False, crop: bool = False) -> Query:
    """`--prompt 'OCR with format: '` (a shard's string), or the same as flags."""
    if prompt is not None:
        return Query.parse(prompt)
    return Query(color=color, box=box, format=format, multi_page=multi_page, crop=crop)
