"""Pretrained parts from local folders: a causal-LM decoder and a SAM vision tower.

Nothing is downloaded: every path is a folder a user has (`save_pretrained` output, as a
hub snapshot is). The decoder's shape is read from its own config, never from a preset;
its tokenizer (with GOT's special tokens added) is the run's tokenizer, so the ids the
decoder was trained on keep their meaning and only GOT's new tokens get new rows.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from ocr2synth.trainer.presets import IMAGE_SIZE, padded_vocab
from ocr2synth.trainer.tokenizer import IM_END
from torch import nn
from transformers import (
    AutoModelForCausalLM,
    GotOcr2VisionConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

log = logging.getLogger(__name__)

DECODER_FAMILIES = ("opt", "qwen2")
GOT_PREFIX = "model.vision_tower."


def _config_json(path: str | Path) -> dict[str, Any]:
    file = Path(path) / "config.json"
    if not file.is_file():
        raise ValueError(f"{path}: not a Hugging Face model folder (no config.json)")
    return json.loads(file.read_text())


def causal_lm(path: str | Path) -> PreTrainedModel:
    """The decoder folder's model, in float32 (bf16 releases train with fp32 masters)."""
    family = _config_json(path).get("model_type")
    if family not in DECODER_FAMILIES:
        raise ValueError(f"--decoder {path}: a {family!r} model; GotOcr2 here takes "
                         f"{' or '.join(DECODER_FAMILIES)} decoders")
    return AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True,
                                                dtype=torch.float32)


def text_config_of(lm: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
    """The decoder's own config, with room for the tokenizer's added tokens."""
    text = lm.config.to_dict()
    for key in ("architectures", "_name_or_path", "transformers_version", "dtype",
                "torch_dtype"):
        text.pop(key, None)
    text["vocab_size"] = max(int(text["vocab_size"]), padded_vocab(len(tokenizer)))
    text["pad_token_id"] = tokenizer.pad_token_id
    text["eos_token_id"] = tokenizer.convert_tokens_to_ids(IM_END)
    return text


def load_decoder(model: nn.Module, lm: PreTrainedModel) -> None:
    """The causal LM's weights into GotOcr2's `language_model` and `lm_head`; rows past the
    source's vocabulary (GOT's added tokens) keep their fresh initialisation."""
    base = lm.base_model  # OPTModel, Qwen2Model: what GotOcr2 calls its language_model
    target = model.model.language_model
    source, mine = base.state_dict(), target.state_dict()
    if set(source) != set(mine):
        missing, unexpected = sorted(set(mine) - set(source)), sorted(set(source) - set(mine))
        raise ValueError(f"decoder weights do not fit: missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]}")
    with torch.no_grad():
        for name, tensor in mine.items():
            _copy_rows(tensor, source[name], name)
        _copy_rows(model.lm_head.weight, lm.get_output_embeddings().weight, "lm_head.weight")


def _copy_rows(dst: torch.Tensor, src: torch.Tensor, name: str) -> None:
    if dst.shape == src.shape:
        dst.copy_(src)
    elif dst.shape[1:] == src.shape[1:] and dst.shape[0] >= src.shape[0]:
        dst[: src.shape[0]].copy_(src)  # a vocabulary grown for GOT's tokens
    else:
        raise ValueError(f"decoder tensor {name}: {tuple(src.shape)} does not fit "
                         f"{tuple(dst.shape)}")


def fit_embeddings(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """Grows the embeddings when the tokenizer has tokens the model lacks; existing rows
    (the ids a pretrained decoder knows) are left as they are."""
    rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > rows:
        model.resize_token_embeddings(padded_vocab(len(tokenizer)), mean_resizing=False)
        log.warning("embeddings grown from %d to %d rows for the tokenizer", rows,
                    model.get_input_embeddings().weight.shape[0])


class VisionTower:
    """A vision tower's config and weights, as GotOcr2's `vision_tower` names them."""

    def __init__(self, config: GotOcr2VisionConfig, weights: dict[str, torch.Tensor]) -> None:
        self.config, self.weights = config, weights

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.weights


def vision_tower(path: str | Path) -> VisionTower:
    """SAM ViT-B (transformers' `SamModel` folder: its `vision_encoder`), or the vision
    tower of a GotOcr2 checkpoint. GotOcr2's vision encoder is SAM's, name for name."""
    from safetensors.torch import load_file

    raw = _config_json(path)
    kind = raw.get("model_type")
    if kind == "sam":
        prefix, vision = "vision_encoder.", dict(raw["vision_config"])
    elif kind == "got_ocr2":
        prefix, vision = GOT_PREFIX, dict(raw["vision_config"])
    else:
        raise ValueError(f"--vision {path}: a {kind!r} model; give a SAM (model_type 'sam') "
                         "or GotOcr2 checkpoint folder")
    files = sorted(Path(path).glob("*.safetensors"))
    if not files:
        raise ValueError(f"--vision {path}: no .safetensors weights")
    weights: dict[str, torch.Tensor] = {}
    for file in files:
        for name, tensor in load_file(str(file)).items():
            if name.startswith(prefix):
                weights[name[len(prefix):]] = tensor.float()
    if not weights:
        raise ValueError(f"--vision {path}: no tensors under {prefix!r}")
    if vision.get("image_size", IMAGE_SIZE) != IMAGE_SIZE:
        raise ValueError(f"--vision {path}: built for {vision.get('image_size')}px images; "
                         f"GOT reads {IMAGE_SIZE}px")
    keep = set(GotOcr2VisionConfig().to_dict())
    config = GotOcr2VisionConfig(**{k: v for k, v in vision.items() if k in keep
                                    and k not in ("model_type", "transformers_version")})
    return VisionTower(config, weights)
