"""Pretrained starts: a decoder folder (OPT, Qwen2), a SAM vision tower, a GotOcr2 checkpoint
(bf16, as GOT-OCR-2.0 ships), each built tiny from a config here and saved, then trained
from with the learning rate at zero so that what arrived can be compared exactly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from ocr2synth.trainer.config import TrainConfig  # noqa: E402
from ocr2synth.trainer.model import ENCODER_PREFIXES, from_checkpoint  # noqa: E402
from ocr2synth.trainer.tokenizer import IM_END, IM_START, IMG_PAD, load_tokenizer  # noqa: E402
from ocr2synth.trainer.train import train  # noqa: E402
from trainer_helpers import mixed_rows, write_dataset  # noqa: E402

TEXTS = ["alpha beta gamma", "delta x^2 sum", r"\frac{a}{b} page red box"] * 20


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("corpus"), mixed_rows(16))


def _cfg(stage: int, data: Path, out: Path, **kw) -> TrainConfig:
    base = dict(stage=stage, data=str(data), out=str(out), preset="tiny", batch_size=2,
                max_steps=2, num_workers=0, save_every=100, log_every=1, lr=0.0,
                warmup_steps=0, tokenizer_vocab=600)
    return TrainConfig(**{**base, **kw})


def _plain_tokenizer(specials: list[str]):
    """A byte-level BPE with a decoder's own specials only (no GOT tokens yet)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(TEXTS, trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token=specials[0],
                                   eos_token=specials[1])


def _decoder_folder(tmp_path: Path, family: str) -> Path:
    from transformers import OPTConfig, OPTForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(1)
    if family == "opt":
        tok = _plain_tokenizer(["<pad>", "</s>"])
        lm = OPTForCausalLM(OPTConfig(vocab_size=len(tok), hidden_size=48, num_hidden_layers=2,
                                      num_attention_heads=4, ffn_dim=96, word_embed_proj_dim=48,
                                      max_position_embeddings=2048, pad_token_id=0))
    else:  # Qwen's tokenizer already has the chat tokens, as Qwen2's does
        tok = _plain_tokenizer(["<|endoftext|>", IM_END, IM_START])
        lm = Qwen2ForCausalLM(Qwen2Config(vocab_size=len(tok) + 20, hidden_size=64,
                                          num_hidden_layers=2, num_attention_heads=4,
                                          num_key_value_heads=2, intermediate_size=96,
                                          tie_word_embeddings=True))
    folder = tmp_path / f"{family}-decoder"
    lm.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def _decoder_state(model) -> dict:
    return {k: v for k, v in model.model.language_model.state_dict().items()
            if "embed_tokens" not in k}


@pytest.mark.parametrize("family,stage", [("opt", 1), ("qwen2", 2)])
def test_decoder_folder_becomes_the_decoder(corpus, tmp_path, family, stage):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = _decoder_folder(tmp_path, family)
    final = train(_cfg(stage, corpus, tmp_path / "run", decoder=str(folder)))
    source = AutoModelForCausalLM.from_pretrained(folder)
    model = from_checkpoint(final)
    # The shape is the folder's, not the tiny preset's (64 / 96 wide).
    assert model.config.text_config.hidden_size == source.config.hidden_size
    assert model.config.text_config.model_type == family
    mine, theirs = _decoder_state(model), {
        k: v for k, v in source.base_model.state_dict().items() if "embed_tokens" not in k}
    assert mine.keys() == theirs.keys()
    assert all(torch.equal(mine[k], theirs[k]) for k in mine)
    rows = source.get_input_embeddings().weight
    assert torch.equal(model.get_input_embeddings().weight[: rows.shape[0]], rows)
    # The tokenizer is the decoder's, GOT's tokens appended: every old id is unchanged.
    before, after = AutoTokenizer.from_pretrained(folder), load_tokenizer(final)
    for text in TEXTS[:3]:
        assert after(text)["input_ids"] == before(text)["input_ids"]
    assert after.convert_tokens_to_ids(IMG_PAD) >= len(before)
    assert model.get_input_embeddings().weight.shape[0] >= len(after)


def test_sam_folder_becomes_the_vision_tower(corpus, tmp_path):
    from ocr2synth.trainer.presets import PRESETS
    from transformers import SamConfig, SamModel

    shape = PRESETS["tiny"].vision
    torch.manual_seed(2)
    sam = SamModel(SamConfig(vision_config=dict(
        hidden_size=shape.hidden, num_hidden_layers=3, num_attention_heads=shape.heads,
        mlp_dim=shape.mlp, output_channels=shape.out_channels, global_attn_indexes=[2],
        window_size=14)))
    with torch.no_grad():  # SAM's relative positions start at zero; make them count
        for name, p in sam.named_parameters():
            if "rel_pos" in name:
                p.normal_()
    sam.save_pretrained(tmp_path / "sam")
    final = train(_cfg(1, corpus, tmp_path / "run", vision=str(tmp_path / "sam")))
    tower = from_checkpoint(final).model.vision_tower.state_dict()
    expected = {k[len("vision_encoder."):]: v for k, v in sam.state_dict().items()
                if k.startswith("vision_encoder.")}
    assert tower.keys() == expected.keys()
    assert all(torch.equal(tower[k], expected[k]) for k in tower)
    assert from_checkpoint(final).config.vision_config.num_hidden_layers == 3


def test_bf16_gotocr2_checkpoint_post_trains_in_fp32(corpus, tmp_path):
    from ocr2synth.trainer.model import PROJECTOR_PREFIX, preset_config
    from ocr2synth.trainer.presets import get_preset
    from ocr2synth.trainer.tokenizer import train_bpe
    from transformers import GotOcr2ForConditionalGeneration

    tok = train_bpe(TEXTS, 500)
    released = GotOcr2ForConditionalGeneration(preset_config(get_preset("tiny"), 2, tok))
    released.to(torch.bfloat16).save_pretrained(tmp_path / "got")
    tok.save_pretrained(tmp_path / "got")
    final = train(_cfg(3, corpus, tmp_path / "run", init_from=str(tmp_path / "got"),
                       lr=1e-2, max_steps=1))
    state = torch.load(final / "trainer_state.pt", weights_only=False)["optimizer"]["state"]
    assert state and all(v["exp_avg"].dtype == torch.float32 for v in state.values())
    after = from_checkpoint(final).state_dict()
    before = {k: v.float() for k, v in released.state_dict().items()}
    encoder = [k for k in before if k.startswith(ENCODER_PREFIXES)]
    assert encoder and all(torch.equal(after[k], before[k]) for k in encoder)
    assert not torch.equal(after[PROJECTOR_PREFIX + "weight"], before[PROJECTOR_PREFIX + "weight"])


def test_a_decoder_of_another_family_is_refused(tmp_path):
    from ocr2synth.trainer.pretrained import causal_lm
    from transformers import GPT2Config, GPT2LMHeadModel

    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2)).save_pretrained(tmp_path / "g")
    with pytest.raises(ValueError, match="'gpt2' model"):
        causal_lm(tmp_path / "g")
