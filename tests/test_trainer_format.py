"""Our GOT formatting against transformers' GotOcr2Processor, built locally (no download)."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from ocr2synth.trainer.formatting import IGNORE, GotFormatter, SampleError  # noqa: E402
from ocr2synth.trainer.images import normalize  # noqa: E402
from ocr2synth.trainer.prompts import Query  # noqa: E402
from ocr2synth.trainer.tokenizer import train_bpe  # noqa: E402
from PIL import Image  # noqa: E402

TEXTS = ["The quick brown fox", r"\frac{a}{b} + x^2", "OCR with format: [red] <b>"] * 20


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe(TEXTS, vocab_size=400)


@pytest.fixture(scope="module")
def processor(tokenizer):
    from transformers import GotOcr2ImageProcessorPil, GotOcr2Processor

    # The processor's defaults, at GOT's 1024 px (the class default is 384).
    image_processor = GotOcr2ImageProcessorPil(size={"height": 1024, "width": 1024})
    return GotOcr2Processor(image_processor=image_processor, tokenizer=tokenizer)


def _png(width: int, height: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _row(prompt: str, task: str, image: bytes, pages: list[bytes] = ()) -> dict:
    return {"id": "x", "prompt": prompt, "target": "fox", "task": task,
            "image": {"bytes": image, "path": None},
            "images": [{"bytes": p, "path": None} for p in pages]}


# (shard prompt, task, image size, page count, processor keyword arguments)
CASES = [
    ("OCR: ", "ocr", (300, 200), 0, {}),
    ("OCR with format: ", "format", (640, 480), 0, {"format": True}),
    ("[120, 40, 800, 950] OCR: ", "box", (1000, 1000), 0, {"box": [120, 40, 800, 950]}),
    ("[red] OCR: ", "color", (500, 700), 0, {"color": "red"}),
    ("OCR with format upon the patch reference: ", "multi-crop", (2100, 700), 0,
     {"format": True, "crop_to_patches": True, "max_patches": 12}),
    ("OCR with format across multi pages: ", "multi-page", (400, 560), 3,
     {"format": True, "multi_page": True}),
]


@pytest.mark.parametrize(("prompt", "task", "size", "n_pages", "kwargs"), CASES,
                         ids=[c[1] for c in CASES])
def test_input_ids_and_pixels_match_processor(tokenizer, processor, prompt, task, size,
                                               n_pages, kwargs):
    formatter = GotFormatter(tokenizer, max_length=8192)
    image = _png(*size, seed=1)
    pages = [_png(*size, seed=10 + i) for i in range(n_pages)]
    encoded = formatter.encode(_row(prompt, task, image, pages))

    inputs = [Image.open(io.BytesIO(p)) for p in pages] or Image.open(io.BytesIO(image))
    expected = processor(inputs, return_tensors="pt", **kwargs)
    n_prompt = expected["input_ids"].shape[1]
    assert encoded.input_ids[:n_prompt] == expected["input_ids"][0].tolist()
    assert encoded.labels[:n_prompt] == [IGNORE] * n_prompt
    answer = encoded.input_ids[n_prompt:]
    assert tokenizer.decode(answer) == "fox<|im_end|>"
    assert encoded.labels[n_prompt:] == answer

    ours = normalize(encoded.pixels, torch.float32)
    assert ours.shape == expected["pixel_values"].shape
    torch.testing.assert_close(ours, expected["pixel_values"].float(), atol=1e-4, rtol=0)


def test_verbatim_style_keeps_shard_prompt(tokenizer):
    formatter = GotFormatter(tokenizer, max_length=8192, style="verbatim")
    ids = formatter.encode(_row("[red] OCR: ", "color", _png(64, 64, 0))).input_ids
    assert "\n[red] OCR: <|im_end|>" in tokenizer.decode(ids)


def test_query_parse_round_trip():
    assert Query.parse("[12, 3, 400, 999] OCR: ").box == (12, 3, 400, 999)
    assert Query.parse("[green] OCR with format: ").color == "green"
    assert Query.parse("Describe this: ").processor_text() == "Describe this: "


def test_target_markup_is_text_not_special_tokens(tokenizer):
    formatter = GotFormatter(tokenizer, max_length=8192)
    ids = formatter.answer_ids("<img> and <|im_end|>")
    assert tokenizer.convert_tokens_to_ids("<imgpad>") not in ids
    assert ids.count(formatter.im_end) == 1  # only the real end of the answer


def test_bad_rows_raise_sample_errors(tokenizer):
    formatter = GotFormatter(tokenizer, max_length=300)
    with pytest.raises(SampleError) as corrupt:
        formatter.encode(_row("OCR: ", "ocr", b"\x89PNG not really"))
    assert corrupt.value.reason == "bad_image"
    row = _row("OCR: ", "ocr", _png(32, 32, 0))
    row["target"] = "fox " * 400
    with pytest.raises(SampleError) as long:
        formatter.encode(row)
    assert long.value.reason == "too_long"


def test_the_trainer_reads_columns_of_the_row_contract():
    from ocr2synth.pipelines.format.schema import SCHEMA
    from ocr2synth.trainer.data import COLUMNS

    assert set(COLUMNS) <= set(SCHEMA.names)
