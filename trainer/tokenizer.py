"""The tokenizer: a local one, or a byte-level BPE trained on the shards' own targets.

Byte-level BPE never meets an unknown character, so a tokenizer trained on stage-1 text
still encodes stage-2 LaTeX, SMILES or **kern; it just spends more tokens on them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

log = logging.getLogger(__name__)

PAD = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
IMG_START = "<img>"
IMG_END = "</img>"
IMG_PAD = "<imgpad>"
# GOT's vocabulary also reserves its grounding tokens; keeping them makes our ids a
# superset of what GOT-style prompts may contain.
SPECIAL_TOKENS = [PAD, IM_START, IM_END, IMG_START, IMG_END, IMG_PAD,
                  "<ref>", "</ref>", "<box>", "</box>", "<quad>", "</quad>"]
REQUIRED_TOKENS = [IM_START, IM_END, IMG_START, IMG_END, IMG_PAD]


def train_bpe(texts: Iterable[str], vocab_size: int = 16000) -> PreTrainedTokenizerFast:
    """A byte-level BPE over `texts`, with GOT's special tokens, wrapped for transformers."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token=PAD, eos_token=IM_END)
    log.info("trained a byte-level BPE of %d tokens on the shards' targets", len(tokenizer))
    return tokenizer


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    """A local tokenizer; GOT's special tokens are added where it lacks them."""
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    missing = [t for t in REQUIRED_TOKENS if t not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing})
        log.warning("tokenizer %s lacked %s: added", path, missing)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = PAD if PAD in tokenizer.get_vocab() else tokenizer.eos_token
    return tokenizer


def corpus(texts: Iterable[str], extra: Iterable[str]) -> Iterator[str]:
    """The texts, then the fixed strings of the chat template so they become tokens."""
    yield from texts
    yield from extra
