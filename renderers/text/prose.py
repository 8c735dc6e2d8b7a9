"""Readable generated prose, English and Chinese, from small grammars and vocabularies.

No download and no model: sentences are built from templates over word lists, so they
read like plain technical writing, are deterministic per rng, and contain only characters
every page font has (ASCII letters and punctuation; CJK ideographs for Chinese).
"""

from __future__ import annotations

import random
import re

_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

NOUNS = (
    "model system method result sample region network signal layer value surface process "
    "measurement experiment structure pattern sequence boundary parameter function estimate "
    "distribution interval material sensor channel frequency gradient error variable field "
    "observation algorithm image particle solution equation theory library protocol "
    "reader archive river mountain garden village market harbor winter journey letter "
    "question answer window teacher student chapter museum engine bridge forest"
).split()
ADJECTIVES = (
    "small large stable linear robust simple careful direct early recent common local "
    "global optical thermal random dense sparse narrow broad quiet bright natural useful "
    "regular modest standard smooth coarse accurate efficient detailed reliable typical"
).split()
VERBS = (
    "improves reduces describes follows measures shows supports changes controls predicts "
    "contains explains limits extends records produces compares defines reaches requires "
    "affects captures reflects connects separates"
).split()
ADVERBS = "clearly slowly rarely often largely nearly mostly quickly directly".split()
PREPOSITIONS = "in on with across under near after before during between within".split()
OPENERS = (
    "In practice", "As expected", "In this section", "For this reason", "In contrast",
    "On the other hand", "At the same time", "In most cases", "Taken together",
)
TOPICS = (
    "Introduction", "Related Work", "Method", "Experimental Setup", "Results",
    "Discussion", "Limitations", "Conclusion", "Background", "Data Collection",
    "Evaluation", "Analysis", "Overview", "Implementation", "Future Work",
)


class EnglishProse:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _np(self) -> str:
        rng = self.rng
        words = [rng.choice(NOUNS)]
        if rng.random() < 0.5:
            words.insert(0, rng.choice(ADJECTIVES))
        det = rng.choice(["the", "the", "a", "each", "every", "this", "our"])
        if det == "a" and words[0][0] in "aeiou":
            det = "an"
        return " ".join([det, *words])

    def sentence(self) -> str:
        rng = self.rng
        parts = [self._np(), rng.choice(VERBS), self._np()]
        if rng.random() < 0.4:
            parts.insert(1, rng.choice(ADVERBS))
        if rng.random() < 0.6:
            parts += [rng.choice(PREPOSITIONS), self._np()]
        text = " ".join(parts)
        if rng.random() < 0.3:
            text = f"{rng.choice(OPENERS)}, {text}"
        if rng.random() < 0.25:
            text += f", and {self._np()} {rng.choice(VERBS)} {self._np()}"
        return text[0].upper() + text[1:] + "."

    def paragraph(self, sentences: tuple[int, int] = (2, 6)) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(*sentences)))

    def words(self, lo: int, hi: int) -> str:
        pool = NOUNS + ADJECTIVES
        return " ".join(self.rng.choice(pool) for _ in range(self.rng.randint(lo, hi)))

    def title(self) -> str:
        if self.rng.random() < 0.5:
            return self.rng.choice(TOPICS)
        return self.words(2, 4).capitalize()


# Common two-character words, so generated Chinese reads as words rather than noise.
ZH_NOUNS = (
    "系统 方法 结果 模型 数据 问题 过程 结构 信号 图像 材料 实验 参数 函数 区域 网络 "
    "学生 老师 城市 河流 时间 历史 文化 经济 社会 技术 研究 分析 理论 工作 环境 设计"
).split()
ZH_VERBS = (
    "提高 降低 描述 分析 测量 显示 支持 改变 控制 预测 包含 解释 限制 扩展 记录 "
    "比较 定义 影响 反映 连接"
).split()
ZH_ADJ = "稳定 简单 重要 主要 明显 基本 常见 有效 复杂 准确 详细 可靠".split()
ZH_OPENERS = ("在实践中", "总的来说", "另一方面", "因此", "同时", "在大多数情况下")
ZH_TOPICS = ("引言", "相关工作", "方法", "实验设置", "结果", "讨论", "结论", "背景", "分析")


class ChineseProse:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _np(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            return f"{rng.choice(ZH_ADJ)}的{rng.choice(ZH_NOUNS)}"
        return rng.choice(ZH_NOUNS)

    def sentence(self) -> str:
        rng = self.rng
        text = f"{self._np()}{rng.choice(ZH_VERBS)}了{self._np()}"
        if rng.random() < 0.4:
            text = f"{rng.choice(ZH_OPENERS)}，{text}"
        if rng.random() < 0.4:
            text += f"，并且{self._np()}{rng.choice(ZH_VERBS)}{self._np()}"
        return text + "。"

    def paragraph(self, sentences: tuple[int, int] = (2, 6)) -> str:
        return "".join(self.sentence() for _ in range(self.rng.randint(*sentences)))

    def words(self, lo: int, hi: int) -> str:
        return "".join(self.rng.choice(ZH_NOUNS) for _ in range(self.rng.randint(lo, hi)))

    def title(self) -> str:
        return self.rng.choice(ZH_TOPICS)


def text_language(text: str) -> str:
    """"zh" when more than a tenth of the characters are CJK, else "en"."""
    return "zh" if len(_CJK.findall(text)) > len(text) / 10 else "en"
