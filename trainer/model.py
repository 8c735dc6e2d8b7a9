"""Building GotOcr2ForConditionalGeneration for a stage: from a preset, pretrained parts, a
checkpoint, or a mix of them.

GOT's encoder is the SAM/ViTDet vision tower followed by two stride-2 convolutions
(256 -> 512 -> 1024 channels); stage 1 maps the 1024 channels to OPT-125M's 768 with a
linear layer (Vary-tiny's projector), and stage 2 keeps the whole encoder, both
convolutions included, and attaches Qwen's 1024-wide decoder. transformers' GotOcr2 ties
the second convolution's width to the decoder's hidden size, which cannot hold that
stage-1 model; the subclass here adds one config field, `encoder_width`, so the second
convolution keeps its width and the linear projector maps it to the decoder. Where the
two agree (GOT's stages 2 and 3, the released GOT-OCR-2.0) the checkpoint is exactly
transformers' GotOcr2 and loads there as it is.

The tensor names are GotOcr2's (`model.vision_tower.*`, `model.multi_modal_projector.
conv_upsampler1.*`, `...conv_upsampler2.*`, `...multimodal_projector.*`), so a stage-2
model takes every encoder tensor of stage 1 name by name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from ocr2synth.trainer.presets import (
    IMAGE_SIZE,
    IMAGE_TOKENS,
    Preset,
    padded_vocab,
    text_config,
    vision_config,
)
from ocr2synth.trainer.tokenizer import IM_END, IMG_PAD
from torch import nn
from transformers import (
    GotOcr2Config,
    GotOcr2ImageProcessorPil,
    GotOcr2Processor,
    PreTrainedTokenizerBase,
)
from transformers import GotOcr2ForConditionalGeneration as HFGotOcr2

log = logging.getLogger(__name__)

# What GOT calls the encoder: stage 3 freezes all of it, stage 2 carries all of it.
ENCODER_PREFIXES = ("model.vision_tower.", "model.multi_modal_projector.conv_upsampler1.",
                    "model.multi_modal_projector.conv_upsampler2.")
PROJECTOR_PREFIX = "model.multi_modal_projector.multimodal_projector."


class Projector(nn.Module):
    """GotOcr2's projector with the second convolution's width free (see the module doc)."""

    def __init__(self, channels: int, width: int, hidden: int) -> None:
        super().__init__()
        self.conv_upsampler1 = nn.Conv2d(channels, channels * 2, kernel_size=3, stride=2,
                                         padding=1, bias=False)
        self.conv_upsampler2 = nn.Conv2d(channels * 2, width, kernel_size=3, stride=2,
                                         padding=1, bias=False)
        self.multimodal_projector = nn.Linear(width, hidden)

    def forward(self, vision_embeddings: torch.Tensor) -> torch.Tensor:
        hidden_state = self.conv_upsampler2(self.conv_upsampler1(vision_embeddings))
        return self.multimodal_projector(hidden_state.flatten(2).permute(0, 2, 1))


def width_of(config: GotOcr2Config) -> int:
    return int(getattr(config, "encoder_width", None) or config.text_config.hidden_size)


class GotOcr2ForConditionalGeneration(HFGotOcr2):
    """transformers' class, whose encoder may be wider than its decoder
    (`config.encoder_width`); identical to it, tensor for tensor, where not. It keeps the
    name so that checkpoints' `architectures` name transformers' class."""

    def __init__(self, config: GotOcr2Config) -> None:
        super().__init__(config)
        width, hidden = width_of(config), config.text_config.hidden_size
        if width != hidden:
            self.model.multi_modal_projector = Projector(
                config.vision_config.output_channels, width, hidden)
            self.model.multi_modal_projector.apply(self._init_weights)


def build_config(vision: dict[str, Any], text: dict[str, Any], tokenizer: PreTrainedTokenizerBase,
                 width: int | None = None) -> GotOcr2Config:
    config = GotOcr2Config(
        vision_config=vision, text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids(IMG_PAD),
        image_seq_length=IMAGE_TOKENS,
        # OPT's embeddings live at decoder.embed_tokens, where the tying code does not look;
        # Qwen ties input and output embeddings, as the released GOT does.
        tie_word_embeddings=text["model_type"] == "qwen2" and text.get(
            "tie_word_embeddings", True),
    )
    config.pad_token_id = tokenizer.pad_token_id
    config.eos_token_id = tokenizer.convert_tokens_to_ids(IM_END)
    if width is not None and width != config.text_config.hidden_size:
        config.encoder_width = width
    return config


def preset_config(preset: Preset, stage: int, tokenizer: PreTrainedTokenizerBase,
                  width: int | None = None) -> GotOcr2Config:
    decoder = preset.decoder_for(stage)
    eos = tokenizer.convert_tokens_to_ids(IM_END)
    text = text_config(decoder, padded_vocab(len(tokenizer)), tokenizer.pad_token_id, eos)
    return build_config(vision_config(preset.vision), text, tokenizer, width)


@dataclass
class Graft:
    carried: list[str] = field(default_factory=list)
    reinitialised: list[str] = field(default_factory=list)


def graft(model: nn.Module, source: nn.Module) -> Graft:
    """Copies the whole encoder of `source` into `model` (shapes must agree: GOT carries
    it unchanged), and the linear projector where its shape still fits the new decoder."""
    mine, theirs = model.state_dict(), source.state_dict()
    report = Graft()
    with torch.no_grad():
        for name, tensor in mine.items():
            if not name.startswith((*ENCODER_PREFIXES, PROJECTOR_PREFIX)):
                continue
            other = theirs.get(name)
            if other is not None and other.shape == tensor.shape:
                tensor.copy_(other)
                report.carried.append(name)
            elif name.startswith(ENCODER_PREFIXES):
                got = None if other is None else tuple(other.shape)
                raise ValueError(f"encoder tensor {name}: the checkpoint's is {got}, this "
                                 f"stage's model wants {tuple(tensor.shape)}; GOT carries the "
                                 "encoder unchanged (check --preset / --encoder-width)")
            else:
                report.reinitialised.append(name)
    return report


@dataclass(frozen=True)
class Start:
    """Where a stage's weights come from; every field is optional."""

    init_from: str | None = None  # a GotOcr2 checkpoint (ours, or GOT-OCR-2.0 converted)
    decoder: str | None = None  # a Hugging Face causal-LM folder (OPT, Qwen2)
    vision: str | None = None  # SAM ViT-B in transformers' format, or a GotOcr2 checkpoint
    encoder_width: int | None = None  # stage 1 from scratch: the second conv's width


def load_model(preset: Preset, stage: int, tokenizer: PreTrainedTokenizerBase,
               init_from: str | Path | None = None, *, decoder: str | None = None,
               vision: str | None = None, encoder_width: int | None = None
               ) -> GotOcr2ForConditionalGeneration:
    """The stage's starting model.

    - `init_from` alone whose decoder is the one the stage wants (stage 3, post-training,
      or the same stage again): that checkpoint as it is.
    - Otherwise a new model: its decoder from `decoder` (weights and shape) or the preset,
      its vision tower from `vision` or the preset, then `init_from`'s encoder grafted on.
    """
    from ocr2synth.trainer import pretrained  # reads folders only when one is given

    source = from_checkpoint(init_from) if init_from is not None else None
    if source is not None and decoder is None and (
            stage == 3 or _same_decoder(source.config, preset_config(preset, stage, tokenizer))):
        log.info("stage %d: continuing from %s as it is", stage, init_from)
        pretrained.fit_embeddings(source, tokenizer)
        return source

    lm = pretrained.causal_lm(decoder) if decoder else None
    sam = pretrained.vision_tower(vision) if vision else None
    vision_cfg = (sam.config.to_dict() if sam is not None
                  else source.config.vision_config.to_dict() if source is not None
                  else vision_config(preset.vision))
    if lm is not None:
        text = pretrained.text_config_of(lm, tokenizer)
    else:
        eos = tokenizer.convert_tokens_to_ids(IM_END)
        text = text_config(preset.decoder_for(stage), padded_vocab(len(tokenizer)),
                           tokenizer.pad_token_id, eos)
    if source is not None:
        width = width_of(source.config)
    elif encoder_width is not None:
        width = encoder_width
    elif stage == 1:
        # Stage 1 builds the encoder stage 2 keeps: as wide as the stage-2 decoder (GOT: 1024).
        width = preset.decoder_for(2).hidden
    else:
        width = None
    model = GotOcr2ForConditionalGeneration(build_config(vision_cfg, text, tokenizer, width))
    if lm is not None:
        pretrained.load_decoder(model, lm)
        log.info("stage %d: decoder %s (%s, %d layers of %d) from %s", stage,
                 text["model_type"], type(lm).__name__, model.config.text_config.num_hidden_layers,
                 model.config.text_config.hidden_size, decoder)
    if sam is not None:
        model.model.vision_tower.load_state_dict(sam.state_dict())
        log.info("stage %d: vision tower from %s", stage, vision)
    if source is not None:
        report = graft(model, source)
        log.info("stage %d: %d encoder/projector tensors carried from %s", stage,
                 len(report.carried), init_from)
        for name in report.reinitialised:
            log.info("new for the new decoder: %s", name)
    pretrained.fit_embeddings(model, tokenizer)
    return model


def _same_decoder(a: GotOcr2Config, b: GotOcr2Config) -> bool:
    """Same decoder architecture; the vocabulary may differ (a downloaded GOT's does)."""
    ta, tb = a.text_config, b.text_config
    return (ta.model_type, ta.hidden_size, ta.num_hidden_layers) == (
        tb.model_type, tb.hidden_size, tb.num_hidden_layers)


def from_checkpoint(path: str | Path, dtype: torch.dtype = torch.float32
                    ) -> GotOcr2ForConditionalGeneration:
    """A GotOcr2 checkpoint in float32 whatever it was saved in: bf16 checkpoints (GOT's
    release) train with fp32 master weights and so fp32 optimizer state."""
    return GotOcr2ForConditionalGeneration.from_pretrained(str(path), local_files_only=True,
                                                           dtype=dtype)


def freeze_encoder(model: nn.Module) -> int:
    """Stage 3 trains the decoder and the linear projector only: the vision tower and both
    convolutions stay bit-identical, as GOT freezes them. Returns the parameter count."""
    frozen = 0
    for name, param in model.named_parameters():
        if name.startswith(ENCODER_PREFIXES):
            param.requires_grad_(False)
            frozen += param.numel()
    return frozen


def make_processor(tokenizer: PreTrainedTokenizerBase) -> GotOcr2Processor:
    """The processor saved with every checkpoint, so AutoProcessor reads ours back."""
    image_processor = GotOcr2ImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    return GotOcr2Processor(image_processor=image_processor, tokenizer=tokenizer)
