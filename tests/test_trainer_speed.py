"""GOT's shapes, fast: SDPA vision attention and the label-only loss equal what they replace;
length-grouped batches pad less and still resume exactly; the loop's options run on CPU."""

from __future__ import annotations

import copy
import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from trainer_helpers import row  # noqa: E402

WORDS = "alpha beta gamma delta sum page red box".split()


def _vision_encoder():
    from transformers import GotOcr2VisionConfig
    from transformers.models.got_ocr2.modeling_got_ocr2 import GotOcr2VisionEncoder

    # An 8x8 patch grid: layers 0 and 2 attend in 3x3 windows (padded to 9x9), layer 1 is
    # global; the relative-position tables get values (they start at zero).
    config = GotOcr2VisionConfig(hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
                                 mlp_dim=64, output_channels=16, global_attn_indexes=[1],
                                 window_size=3, image_size=128, patch_size=16)
    torch.manual_seed(0)
    encoder = GotOcr2VisionEncoder(config).train()
    with torch.no_grad():
        for param in encoder.parameters():
            param.normal_(0.0, 0.1)
    return encoder


def _blocks(encoder, x):
    # The neck's output is tiny at these scales; the blocks' output is what attention makes.
    h = encoder.patch_embed(x) + encoder.pos_embed
    for layer in encoder.layers:
        h = layer(h)
    return h


@pytest.mark.parametrize("mode", ["fold", "bias"])
def test_sdpa_vision_attention_equals_eager_with_grads(mode, monkeypatch):
    import torch.nn.functional as F
    from ocr2synth.trainer.attention import use_eager_vision, use_sdpa_vision

    eager = _vision_encoder()
    sdpa = copy.deepcopy(eager)
    assert use_sdpa_vision(sdpa, mode) == 3
    calls = []
    real = F.scaled_dot_product_attention
    monkeypatch.setattr(F, "scaled_dot_product_attention",
                        lambda *a, **k: calls.append(a[0].shape) or real(*a, **k))
    x = torch.randn(2, 3, 128, 128)
    a, b = _blocks(eager, x), _blocks(sdpa, x)
    assert len(calls) == 3  # every layer went through SDPA, windowed and global
    torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
    grad = torch.randn_like(a)
    (a * grad).sum().backward()
    (b * grad).sum().backward()
    for (name, p), q in zip(eager.named_parameters(), sdpa.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, atol=1e-5, rtol=1e-5, msg=name)
    assert use_eager_vision(sdpa) == 3


def test_sdpa_model_saves_a_plain_transformers_checkpoint(tmp_path):
    from ocr2synth.trainer.attention import use_sdpa_vision
    from transformers import GotOcr2ForConditionalGeneration

    model = _tiny_model(2)
    before = set(model.state_dict())
    assert use_sdpa_vision(model) == model.config.vision_config.num_hidden_layers
    assert set(model.state_dict()) == before
    model.save_pretrained(tmp_path / "m")
    loaded = GotOcr2ForConditionalGeneration.from_pretrained(tmp_path / "m")
    assert set(loaded.state_dict()) == before


def _tokenizer():
    from ocr2synth.trainer.tokenizer import train_bpe

    return train_bpe([" ".join(WORDS)] * 8 + ["OCR with format: "], 400)


def _tiny_model(stage: int):
    from ocr2synth.trainer.model import load_model
    from ocr2synth.trainer.presets import get_preset

    torch.manual_seed(0)
    return load_model(get_preset("tiny"), stage, _tokenizer(), None)


def _batch(tokenizer, targets: list[str]):
    from ocr2synth.trainer.formatting import GotFormatter, collate

    formatter = GotFormatter(tokenizer, max_length=2048)
    samples = [formatter.encode(row(i, "ocr", "OCR: ", t)) for i, t in enumerate(targets)]
    return collate(samples, tokenizer.pad_token_id)


@pytest.mark.parametrize("stage", [1, 2])  # OPT's and Qwen2's decoders
def test_label_only_loss_equals_full_logits_loss_and_grads(stage):
    from ocr2synth.trainer.loss import full_logits_loss_sum, token_loss_sum

    model = _tiny_model(stage).train()
    batch = _batch(_tokenizer(), ["alpha beta gamma delta sum page red box alpha beta",
                                  "red box"])
    cpu = torch.device("cpu")
    full = full_logits_loss_sum(model, batch, torch.float32, cpu)
    full.backward()
    want = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    mine = token_loss_sum(model, batch, torch.float32, cpu, chunk=3)  # several chunks
    mine.backward()
    torch.testing.assert_close(mine, full, atol=1e-5, rtol=1e-5)
    got = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert got.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], atol=1e-6, rtol=1e-4, msg=name)


def test_label_only_loss_never_projects_the_whole_batch(monkeypatch):
    """The LM head sees at most `chunk` rows at once, and only answer positions."""
    import torch.nn.functional as F
    from ocr2synth.trainer import loss

    model = _tiny_model(2).train()
    batch = _batch(_tokenizer(), ["alpha beta gamma delta sum page", "box"])
    rows = []
    real = F.linear

    def spy(x, w, b=None):
        if w.shape[0] == model.config.text_config.vocab_size:
            rows.append(x.shape[:-1].numel())
        return real(x, w, b)

    monkeypatch.setattr(loss.F, "linear", spy)
    loss.token_loss_sum(model, batch, torch.float32, torch.device("cpu"), chunk=4).backward()
    answers = int((batch["labels"][:, 1:] != -100).sum())
    assert max(rows) <= 4
    assert sum(rows) == 2 * answers  # forward, and each chunk once more in backward
    head = model.get_output_embeddings()
    assert model.lm_head.weight.grad is not None and head.weight.grad.abs().sum() > 0


# (task, prompt, answer words low-high, rows): the demo recipe's mix of renderers, from
# one-line slices and formulas to full pages, multi-crop and multi-page documents.
DEMO_MIX = [
    ("ocr", "OCR: ", 5, 30, 64),  # latex-formula
    ("format", "OCR with format: ", 100, 400, 32),  # latex-table
    ("format", "OCR with format: ", 60, 250, 32),  # tikz
    ("format", "OCR with format: ", 500, 1200, 16),  # latex-page, markdown-page
    ("format", "OCR with format: ", 80, 300, 32),  # music
    ("ocr", "OCR: ", 10, 40, 32),  # molecule
    ("box", "[100, 200, 600, 400] OCR: ", 10, 100, 8),  # fine-grained
    ("multi-crop", "OCR with format upon the patch reference: ", 400, 800, 8),
    ("multi-page", "OCR with format across multi pages: ", 800, 1500, 8),
    ("ocr", "OCR: ", 400, 1000, 8),  # pdf-page
    ("ocr", "OCR: ", 5, 60, 8),  # pdf-slices: lines and paragraphs
    ("format", "OCR with format: ", 40, 200, 32),  # chart-mpl, chart-echarts
]


def demo_like_rows(scale: float = 1.0) -> list[dict]:
    import random

    rng = random.Random(0)
    rows = []
    for task, prompt, low, high, count in DEMO_MIX:
        for _ in range(max(1, round(count * scale))):
            words = rng.randint(low, high)
            rows.append(row(len(rows), task, prompt,
                            " ".join(rng.choice(WORDS) for _ in range(words))))
    rng.shuffle(rows)
    return rows


def _stream(data, tokenizer, group: bool, state=None, batch_size=4):
    from ocr2synth.trainer.data import ShardStream, Source
    from ocr2synth.trainer.formatting import GotFormatter

    formatter = GotFormatter(tokenizer, max_length=8192)
    return ShardStream([Source("all", str(data), None, 1.0)], formatter, batch_size, seed=5,
                       state=state, group_by_length=group)


def test_length_is_what_encode_makes(tmp_path):
    from ocr2synth.trainer.formatting import GotFormatter
    from trainer_helpers import TASKS

    tokenizer = _tokenizer()
    formatter = GotFormatter(tokenizer, max_length=8192)
    for i, (task, prompt) in enumerate(TASKS):
        r = row(i, task, prompt, "alpha beta " * (i + 1))
        assert formatter.length(r) == len(formatter.encode(r)), task


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory):
    from trainer_helpers import write_dataset

    return write_dataset(tmp_path_factory.mktemp("demo"), demo_like_rows(0.25), shard_size=16)


def test_grouped_batches_pad_less_and_keep_the_rows(demo_like):
    from ocr2synth.trainer.data import GROUP_BATCHES, padding_share

    tokenizer = _tokenizer()
    n = GROUP_BATCHES  # one window
    plain = [b for _, b in zip(range(n), _stream(demo_like, tokenizer, False), strict=False)]
    grouped = [b for _, b in zip(range(n), _stream(demo_like, tokenizer, True), strict=False)]

    def lengths(batches):
        return sorted(int(v) for b in batches for v in b["attention_mask"].sum(1))

    assert lengths(grouped) == lengths(plain)  # the same rows, batched differently
    before, after = padding_share(plain), padding_share(grouped)
    print(f"padding share: {before:.1%} -> {after:.1%}")
    assert after < before / 2


def test_grouped_stream_resumes_mid_window(demo_like):
    tokenizer = _tokenizer()
    first = iter(_stream(demo_like, tokenizer, True))
    batches = [next(first) for _ in range(6)]
    state = batches[2]["state"]
    assert state["taken"] == 3
    again = iter(_stream(demo_like, tokenizer, True, state={0: state}))
    for want in batches[3:]:
        got = next(again)
        assert torch.equal(got["input_ids"], want["input_ids"])
        assert torch.equal(got["pixels"], want["pixels"])
        assert got["state"] == want["state"]


def _cfg(data, out, **kw):
    from ocr2synth.trainer.config import TrainConfig

    base = dict(stage=1, data=str(data), out=str(out), preset="tiny", batch_size=2,
                max_steps=3, num_workers=0, save_every=100, log_every=100, lr=1e-3,
                tokenizer_vocab=600)
    return TrainConfig(**{**base, **kw})


def test_the_loop_reads_the_loss_only_when_it_logs(demo_like, tmp_path, monkeypatch):
    """float(tensor) waits for the device: once at the first (logged) step, not per step."""
    from ocr2synth.trainer.train import train

    reads = []
    real = torch.Tensor.__float__
    monkeypatch.setattr(torch.Tensor, "__float__",
                        lambda t: reads.append(t.shape) or real(t))
    train(_cfg(demo_like, tmp_path / "run", max_length=8192))
    assert len(reads) == 1


def test_fsdp_mixed_precision_policy_is_bf16_with_fp32_reduce():
    from ocr2synth.trainer.dist import mixed_precision

    policy = mixed_precision(torch.device("cuda", 0), torch.bfloat16)
    assert (policy.param_dtype, policy.reduce_dtype) == (torch.bfloat16, torch.float32)
    plain = mixed_precision(torch.device("cpu"), torch.float32)
    assert plain.param_dtype is None and plain.reduce_dtype is None
    assert mixed_precision(torch.device("cuda", 0), torch.float32).param_dtype is None


def test_compiled_blocks_keep_names_and_the_loss():
    """--compile wraps every vision block and decoder layer in place. Dynamo's graph capture
    runs here with the `eager` backend (inductor's CPU code generation takes minutes on two
    cores; on a GPU `--compile` uses inductor): same loss, same parameter names."""
    from ocr2synth.trainer.bench import synthetic_batch
    from ocr2synth.trainer.loss import token_loss_sum
    from ocr2synth.trainer.model import GotOcr2ForConditionalGeneration, preset_config
    from ocr2synth.trainer.presets import get_preset
    from ocr2synth.trainer.tokenizer import train_bpe
    from ocr2synth.trainer.train import compile_blocks

    tokenizer = train_bpe(["alpha beta gamma"] * 4, 300)
    torch.manual_seed(0)
    model = GotOcr2ForConditionalGeneration(preset_config(get_preset("tiny"), 2, tokenizer))
    batch = synthetic_batch(300, 1, model.config.text_config.vocab_size,
                            model.config.image_token_index)
    cpu = torch.device("cpu")
    names = list(model.state_dict())
    plain = float(token_loss_sum(model, batch, torch.float32, cpu).detach())
    assert compile_blocks(model, backend="eager") == 4  # 2 vision blocks + 2 decoder layers
    torch._dynamo.reset()
    compiled = token_loss_sum(model, batch, torch.float32, cpu)
    compiled.backward()
    assert float(compiled.detach()) == pytest.approx(plain, rel=1e-5)
    assert list(model.state_dict()) == names
