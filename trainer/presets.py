"""Model shapes: a preset names a vision tower and the decoders GOT's stages attach to it.

GOT trains stage 1 with a small decoder (OPT-125M) and swaps in a larger one (Qwen-0.5B)
for stages 2 and 3, keeping the encoder. A preset therefore carries two decoder shapes;
`decoder_for(stage)` picks one. `tiny` mirrors that switch (OPT then Qwen2) so the
hand-over between stages is exercised on a CPU in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# GOT's interface: every 1024x1024 image becomes 16x16 = 256 decoder tokens. The vision
# tower's 16-pixel patches give a 64x64 grid and the projector's two stride-2 convolutions
# reduce it to 16x16, so these numbers are not free per preset.
IMAGE_SIZE = 1024
IMAGE_TOKENS = 256


@dataclass(frozen=True)
class VisionShape:
    hidden: int
    layers: int
    heads: int
    mlp: int
    out_channels: int
    global_attn: tuple[int, ...]
    window: int = 14


@dataclass(frozen=True)
class DecoderShape:
    family: Literal["opt", "qwen2"]
    hidden: int
    layers: int
    heads: int
    intermediate: int
    kv_heads: int | None = None  # qwen2 only; None means heads
    max_positions: int = 8192


@dataclass(frozen=True)
class Preset:
    name: str
    vision: VisionShape
    stage1_decoder: DecoderShape
    decoder: DecoderShape

    def decoder_for(self, stage: int) -> DecoderShape:
        return self.stage1_decoder if stage == 1 else self.decoder


# SAM/ViTDet-base: 12 layers of width 768, global attention every third layer.
VITDET_BASE = VisionShape(hidden=768, layers=12, heads=12, mlp=3072, out_channels=256,
                          global_attn=(2, 5, 8, 11))
OPT_125M = DecoderShape("opt", hidden=768, layers=12, heads=12, intermediate=3072,
                        max_positions=4096)
# Qwen1.5-0.5B, the decoder of the released GOT (and GotOcr2Config's default text model).
QWEN_05B = DecoderShape("qwen2", hidden=1024, layers=24, heads=16, intermediate=2816,
                        kv_heads=16, max_positions=32768)

PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        "tiny",
        VisionShape(hidden=32, layers=2, heads=2, mlp=64, out_channels=16, global_attn=()),
        DecoderShape("opt", hidden=64, layers=2, heads=4, intermediate=128),
        DecoderShape("qwen2", hidden=96, layers=2, heads=4, intermediate=192, kv_heads=2),
    ),
    # The small family for cheap experiments: OPT-125M in every stage.
    "got-stage1": Preset("got-stage1", VITDET_BASE, OPT_125M, OPT_125M),
    "got": Preset("got", VITDET_BASE, OPT_125M, QWEN_05B),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}") from None


def padded_vocab(n_tokens: int, multiple: int = 64) -> int:
    """Embedding rows rounded up: matmuls on multiples of 64 run faster on GPUs."""
    return -(-n_tokens // multiple) * multiple


def text_config(shape: DecoderShape, vocab_size: int, pad_id: int, eos_id: int) -> dict[str, Any]:
    common = {"vocab_size": vocab_size, "pad_token_id": pad_id, "eos_token_id": eos_id,
              "bos_token_id": None, "max_position_embeddings": shape.max_positions}
    if shape.family == "opt":
        return {"model_type": "opt", **common, "hidden_size": shape.hidden,
                "num_hidden_layers": shape.layers, "num_attention_heads": shape.heads,
                "ffn_dim": shape.intermediate, "word_embed_proj_dim": shape.hidden,
                "dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.0}
    return {"model_type": "qwen2", **common, "hidden_size": shape.hidden,
            "num_hidden_layers": shape.layers, "num_attention_heads": shape.heads,
            "num_key_value_heads": shape.kv_heads or shape.heads,
            "intermediate_size": shape.intermediate, "hidden_act": "silu",
            "rms_norm_eps": 1e-6, "rope_parameters": {"rope_type": "default",
                                                      "rope_theta": 1_000_000.0},
            "use_sliding_window": False, "max_window_layers": shape.layers,
            "attention_dropout": 0.0}


def vision_config(shape: VisionShape) -> dict[str, Any]:
    # initializer_range: SAM's config defaults to 1e-10, which starts a vision tower from
    # scratch with all but zero weights: its output is constant and no image reaches the
    # decoder. 0.02 is the usual ViT scale (pretrained towers come from --vision).
    return {"initializer_range": 0.02,
            "hidden_size": shape.hidden, "num_hidden_layers": shape.layers,
            "num_attention_heads": shape.heads, "mlp_dim": shape.mlp,
            "output_channels": shape.out_channels, "global_attn_indexes": list(shape.global_attn),
            "window_size": shape.window, "image_size": IMAGE_SIZE, "patch_size": 16}
