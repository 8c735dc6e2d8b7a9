"""A conservative token count for GOT's length limits, without GOT's tokenizer.

GOT's limits (a page under 650 tokens, a stack under 8K) are in Qwen2 tokens, and that
tokenizer cannot be fetched here. The count below splits text the way Qwen2's
pre-tokenizer does (letter runs, single digits, punctuation runs, whitespace) and charges
each piece at least what Qwen2's byte-level BPE can charge for common text: a letter run
one token per 4 letters (Qwen2 spends about one per English word), each digit one (Qwen2
splits numbers into digits), each other ASCII symbol one, each non-ASCII character two
(a common CJK character is one Qwen2 token or less). It over-counts typical prose by about
half, so a page under 650 here is under 650 for GOT.
"""

from __future__ import annotations

import math
import re

_PIECES = re.compile(r"[A-Za-z]+|[0-9]|[^\x00-\x7f]|\s+|[^\sA-Za-z0-9\x80-\U0010ffff]")


def count_tokens(text: str) -> int:
    total = 0
    for match in _PIECES.finditer(text):
        piece = match.group()
        if piece[0].isascii() and piece[0].isalpha():
            total += math.ceil(len(piece) / 4)
        elif piece.isspace():
            total += 0 if piece == " " else 1  # a single space merges into the next word
        elif piece.isascii():
            total += 1
        else:
            total += 2
    return total
