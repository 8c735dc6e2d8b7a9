"""Building GotOcr2ForConditionalGeneration for a stage: from a preset, a checkpoint, or both.

Stage 2 is the interesting case. GOT keeps the stage-1 encoder and swaps the decoder, so
the new model is built from the preset and only the vision tower and those projector
weights whose shapes still fit are copied over; the rest starts fresh, and the log says
which tensors did.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import (
    GotOcr2Config,
    GotOcr2ForConditionalGeneration,
    GotOcr2ImageProcessorPil,
    GotOcr2Processor,
    PreTrainedTokenizerBase,
)

from trainer.presets import (
    IMAGE_SIZE,
    IMAGE_TOKENS,
    DecoderShape,
    Preset,
    padded_vocab,
    text_config,
    vision_config,
)
from trainer.tokenizer import IM_END, IMG_PAD

log = logging.getLogger(__name__)

CARRIED_PREFIXES = ("model.vision_tower.", "model.multi_modal_projector.")


def build_config(preset: Preset, stage: int, tokenizer: PreTrainedTokenizerBase) -> GotOcr2Config:
    decoder: DecoderShape = preset.decoder_for(stage)
    pad_id = tokenizer.pad_token_id
    eos_id = tokenizer.convert_tokens_to_ids(IM_END)
    config = GotOcr2Config(
        vision_config=vision_config(preset.vision),
        text_config=text_config(decoder, padded_vocab(len(tokenizer)), pad_id, eos_id),
        image_token_index=tokenizer.convert_tokens_to_ids(IMG_PAD),
        image_seq_length=IMAGE_TOKENS,
        # OPT's embeddings live at decoder.embed_tokens, where the tying code does not look;
        # Qwen ties input and output embeddings, as the released GOT does.
        tie_word_embeddings=decoder.family == "qwen2",
    )
    config.pad_token_id = pad_id
    config.eos_token_id = eos_id
    return config


def _same_decoder(a: GotOcr2Config, b: GotOcr2Config) -> bool:
    """Same decoder architecture; the vocabulary may differ (a downloaded GOT's does)."""
    ta, tb = a.text_config, b.text_config
    return (ta.model_type, ta.hidden_size, ta.num_hidden_layers) == (
        tb.model_type, tb.hidden_size, tb.num_hidden_layers)


@dataclass
class Graft:
    carried: list[str] = field(default_factory=list)
    reinitialised: list[str] = field(default_factory=list)


def graft(model: GotOcr2ForConditionalGeneration,
          source: GotOcr2ForConditionalGeneration) -> Graft:
    """Copy the encoder and projector tensors whose names and shapes match."""
    mine, theirs = model.state_dict(), source.state_dict()
    report = Graft()
    with torch.no_grad():
        for name, tensor in mine.items():
            if not name.startswith(CARRIED_PREFIXES):
                continue
            other = theirs.get(name)
            if other is not None and other.shape == tensor.shape:
                tensor.copy_(other)
                report.carried.append(name)
            else:
                report.reinitialised.append(name)
    return report


def load_model(preset: Preset, stage: int, tokenizer: PreTrainedTokenizerBase,
               init_from: str | Path | None) -> GotOcr2ForConditionalGeneration:
    """The stage's model: the checkpoint itself when its decoder is the one the stage wants
    (post-training, stage 3), else the preset with the checkpoint's encoder grafted on."""
    wanted = build_config(preset, stage, tokenizer)
    if init_from is None:
        log.info("stage %d: %s preset from scratch", stage, preset.name)
        return GotOcr2ForConditionalGeneration(wanted)
    source = from_checkpoint(init_from)
    if stage == 3 or _same_decoder(source.config, wanted):
        log.info("stage %d: continuing from %s as it is", stage, init_from)
        if len(tokenizer) > source.config.text_config.vocab_size:
            # A --tokenizer with tokens the checkpoint lacks: new rows, initialised.
            source.resize_token_embeddings(padded_vocab(len(tokenizer)))
            log.warning("embeddings grown to %d rows for the tokenizer", len(tokenizer))
        return source
    model = GotOcr2ForConditionalGeneration(wanted)
    report = graft(model, source)
    log.info("stage %d: %s decoder from scratch; %d encoder/projector tensors carried from %s",
             stage, wanted.text_config.model_type, len(report.carried), init_from)
    for name in report.reinitialised:
        log.warning("re-initialised (shape changed): %s", name)
    return model


def from_checkpoint(path: str | Path) -> GotOcr2ForConditionalGeneration:
    return GotOcr2ForConditionalGeneration.from_pretrained(str(path), local_files_only=True)


def freeze_vision_tower(model: torch.nn.Module) -> int:
    """Stage 3 trains the decoder only: the encoder stays bit-identical. Returns the count."""
    frozen = 0
    for name, param in model.named_parameters():
        if name.startswith("model.vision_tower."):
            param.requires_grad_(False)
            frozen += param.numel()
    return frozen


def make_processor(tokenizer: PreTrainedTokenizerBase) -> GotOcr2Processor:
    """The processor saved with every checkpoint, so AutoProcessor reads ours back."""
    image_processor = GotOcr2ImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    return GotOcr2Processor(image_processor=image_processor, tokenizer=tokenizer)
