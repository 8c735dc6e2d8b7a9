"""One shard row -> model inputs: token ids, labels masked on the prompt, uint8 pixels."""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from typing import Any

import torch
from ocr2synth.pipelines.format.tiling import tile_grid, tiles
from ocr2synth.trainer.images import decode, to_tensor
from ocr2synth.trainer.presets import IMAGE_SIZE, IMAGE_TOKENS
from ocr2synth.trainer.prompts import PromptStyle, Query, chat_prompt
from ocr2synth.trainer.tokenizer import IM_END
from PIL import Image
from transformers import PreTrainedTokenizerBase

IGNORE = -100  # the label cross-entropy skips


class SampleError(ValueError):
    """A row that cannot become a training sample; `reason` names the skip counter."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]
    pixels: torch.Tensor  # (n_images, 3, S, S) uint8

    def __len__(self) -> int:
        return len(self.input_ids)


def _header_size(data: bytes, row: dict[str, Any]) -> tuple[int, int]:
    try:
        return Image.open(io.BytesIO(data)).size  # lazy: reads the header, not the pixels
    except Exception as exc:  # PIL raises many types on bad bytes
        raise SampleError("bad_image", f"{row.get('id')}: {exc}") from exc


class GotFormatter:
    """GOT's input format; the same ids `GotOcr2Processor` makes for the same prompt."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, *, max_length: int,
                 max_tiles: int = 12, style: PromptStyle = "processor",
                 image_size: int = IMAGE_SIZE) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.max_tiles = max_tiles
        self.style = style
        self.image_size = image_size
        self.im_end = tokenizer.convert_tokens_to_ids(IM_END)
        # Targets are data, not markup: a page whose markdown holds "<img>" must not turn
        # into GOT's image token. This copy of the Rust tokenizer reads specials as text.
        self._plain = copy.deepcopy(tokenizer.backend_tokenizer)
        self._plain.encode_special_tokens = True

    def images_for(self, row: dict[str, Any], query: Query) -> list[Image.Image]:
        pages = [decode(im["bytes"]) for im in row.get("images") or [] if im and im["bytes"]]
        if pages:
            return pages  # multi-page stacks, or multi-crop tiles the renderer cut itself
        image = decode(row["image"]["bytes"])
        if query.crop or row.get("task") == "multi-crop":
            return tiles(image, self.image_size, self.max_tiles)
        return [image]

    def image_count(self, row: dict[str, Any], query: Query) -> int:
        """How many images `images_for` will make, from the image headers only (a row whose
        header does not parse fails here, before anything is decoded)."""
        pages = [im for im in row.get("images") or [] if im and im["bytes"]]
        sizes = [_header_size(im["bytes"], row) for im in pages]
        if sizes:
            return len(sizes)
        width, height = _header_size(row["image"]["bytes"], row)
        if query.crop or row.get("task") == "multi-crop":
            cols, rows = tile_grid(width, height, self.image_size, self.max_tiles)
            return 1 if cols * rows == 1 else cols * rows + 1  # the tiles and a thumbnail
        return 1

    def length(self, row: dict[str, Any]) -> int:
        """The token count `encode` gives the row, without decoding an image; raises
        SampleError("too_long") as `encode` would."""
        query = Query.parse(row["prompt"])
        n = len(self.prompt_ids(query, self.image_count(row, query))) + len(
            self.answer_ids(row["target"]))
        if n > self.max_length:
            raise SampleError("too_long", f"{row.get('id')}: {n} tokens")
        return n

    def prompt_ids(self, query: Query, n_images: int) -> list[int]:
        text = chat_prompt(query.text(self.style), IMAGE_TOKENS * n_images)
        # Default special-token handling, as the processor tokenizes: a tokenizer that adds
        # a BOS token adds it here too.
        return self.tokenizer(text)["input_ids"]

    def answer_ids(self, target: str) -> list[int]:
        return [*self._plain.encode(target, add_special_tokens=False).ids, self.im_end]

    def encode(self, row: dict[str, Any]) -> Encoded:
        query = Query.parse(row["prompt"])
        answer = self.answer_ids(row["target"])
        # Cheap length check before decoding any image: image tokens are known from counts.
        n_guess = max(1, len(row.get("images") or []))
        if len(answer) + IMAGE_TOKENS * n_guess > self.max_length:
            raise SampleError("too_long", f"{row.get('id')}: {len(answer)} answer tokens")
        try:
            images = self.images_for(row, query)
        except Exception as exc:  # PIL raises many types on bad bytes
            raise SampleError("bad_image", f"{row.get('id')}: {exc}") from exc
        prompt = self.prompt_ids(query, len(images))
        ids = prompt + answer
        if len(ids) > self.max_length:
            raise SampleError("too_long", f"{row.get('id')}: {len(ids)} tokens")
        pixels = torch.stack([to_tensor(im, self.image_size) for im in images])
        return Encoded(ids, [IGNORE] * len(prompt) + answer, pixels)


def collate(samples: list[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ids and labels, and every sample's images in one tensor, in order."""
    width = max(len(s) for s in samples)
    ids = torch.full((len(samples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(samples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(samples), width), dtype=torch.long)
    for i, s in enumerate(samples):
        ids[i, : len(s)] = torch.tensor(s.input_ids)
        labels[i, : len(s)] = torch.tensor(s.labels)
        mask[i, : len(s)] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask,
            "pixels": torch.cat([s.pixels for s in samples])}
