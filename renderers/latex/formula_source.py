"""Formula content: a recursive grammar of well-formed LaTeX math, or a user's file.

The grammar spends a random "budget" of structure per formula, so formulas range from a
single symbol with an index to nested fractions of sums over matrices. Every construct it
emits is standard amsmath that all of the renderer's fonts typeset.
"""

from __future__ import annotations

import random
from pathlib import Path

from ocr2synth.renderers.base import Item, Source

LATIN = list("abcdfghkmnpqrstuvwxyz") + list("ABCDEFGHKLMNPQRSTUVWXYZ")
GREEK = [
    r"\alpha", r"\beta", r"\gamma", r"\delta", r"\epsilon", r"\varepsilon", r"\zeta", r"\eta",
    r"\theta", r"\vartheta", r"\kappa", r"\lambda", r"\mu", r"\nu", r"\xi", r"\pi", r"\rho",
    r"\sigma", r"\tau", r"\phi", r"\varphi", r"\chi", r"\psi", r"\omega", r"\Gamma",
    r"\Delta", r"\Theta", r"\Lambda", r"\Xi", r"\Pi", r"\Sigma", r"\Phi", r"\Psi", r"\Omega",
]
CONSTANTS = [r"\pi", r"\infty", "e", "i", r"\hbar", r"\ell"]
ACCENTS = [r"\hat", r"\bar", r"\vec", r"\tilde", r"\dot", r"\ddot", r"\overline", r"\widehat"]
BINOPS = ["+", "-", r"\cdot", r"\times", r"\pm", r"\mp", "/", r"\circ", r"\otimes", r"\oplus"]
RELATIONS = [
    "=", "=", "=", r"\leq", r"\geq", r"\neq", r"\approx", r"\equiv", r"\sim", "<", ">",
    r"\propto", r"\to", r"\subseteq", r"\in", r"\simeq", r"\ll", r"\mapsto", r"\Rightarrow",
]
FUNCTIONS = [
    r"\sin", r"\cos", r"\tan", r"\log", r"\ln", r"\exp", r"\arctan", r"\sinh", r"\cosh",
    r"\det", r"\dim", r"\ker",
]
BIG_OPS = [r"\sum", r"\sum", r"\prod", r"\bigcup", r"\bigcap", r"\coprod", r"\bigoplus"]
INTEGRALS = [r"\int", r"\int", r"\oint", r"\iint"]
LIMIT_OPS = [r"\lim", r"\limsup", r"\liminf", r"\max", r"\min", r"\sup", r"\inf"]
BRACKETS = [
    ("(", ")"), ("[", "]"), (r"\{", r"\}"), ("|", "|"), (r"\langle", r"\rangle"),
    (r"\lfloor", r"\rfloor"), (r"\lceil", r"\rceil"), (r"\|", r"\|"),
]
MATRIX_ENVS = ["pmatrix", "bmatrix", "vmatrix", "Vmatrix", "matrix", "Bmatrix"]
FONT_COMMANDS = [r"\mathbf", r"\mathrm", r"\mathcal", r"\mathbb", r"\mathsf"]
INDEX_NAMES = list("ijklmn")


class FormulaGrammar:
    """Draws one formula from `rng`; `budget` bounds how much nesting it may spend."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, options: list):
        return self.rng.choice(options)

    def symbol(self) -> str:
        roll = self.rng.random()
        if roll < 0.55:
            sym = self.pick(LATIN)
        elif roll < 0.85:
            sym = self.pick(GREEK)
        else:
            sym = self.pick(CONSTANTS)
        roll = self.rng.random()
        if roll < 0.08:
            sym = f"{self.pick(ACCENTS)}{{{sym}}}"
        elif roll < 0.12 and sym in LATIN and sym.isupper():
            sym = f"{self.pick(FONT_COMMANDS)}{{{sym}}}"
        return sym

    def number(self) -> str:
        roll = self.rng.random()
        if roll < 0.6:
            return str(self.rng.randint(0, 12))
        if roll < 0.8:
            return str(self.rng.randint(10, 9999))
        return f"{self.rng.randint(0, 99)}.{self.rng.randint(0, 999):0{self.rng.randint(1, 3)}d}"

    def index(self, budget: int) -> str:
        roll = self.rng.random()
        if roll < 0.45:
            return self.pick(INDEX_NAMES)
        if roll < 0.7:
            return self.number() if self.rng.random() < 0.7 else "0"
        if roll < 0.85 or budget < 2:
            return f"{self.pick(INDEX_NAMES)} {self.pick(['+', '-'])} {self.rng.randint(1, 3)}"
        return self.expression(min(budget, 2))

    def scripted(self, base: str, budget: int) -> str:
        roll = self.rng.random()
        if roll < 0.25:
            return f"{base}_{{{self.index(budget)}}}"
        if roll < 0.45:
            return f"{base}^{{{self.index(budget)}}}"
        if roll < 0.55:
            return f"{base}_{{{self.index(budget)}}}^{{{self.index(budget)}}}"
        return base

    def atom(self, budget: int) -> str:
        if self.rng.random() < 0.3:
            return self.number()
        return self.scripted(self.symbol(), budget - 1)

    def term(self, budget: int) -> str:
        if budget <= 1:
            return self.atom(budget)
        makers = [
            (3.0, self.atom),
            (1.6, self.fraction),
            (0.8, self.root),
            (1.0, self.big_operator),
            (0.7, self.integral),
            (0.5, self.limit),
            (1.2, self.function),
            (1.3, self.bracketed),
            (0.3, self.binomial),
            (0.4, self.derivative),
            (0.25, self.brace_note),
        ]
        weights = [w for w, _ in makers]
        maker = self.rng.choices([m for _, m in makers], weights=weights)[0]
        return maker(budget)

    def expression(self, budget: int) -> str:
        parts = [self.term(budget)]
        # Deep expressions stay short, so formulas grow in depth rather than only in width.
        count = self.rng.choices([1, 2, 3, 4], weights=[3 + budget, 4, 2, 1])[0]
        for _ in range(count - 1):
            if self.rng.random() < 0.35:
                # Implicit product; a leading digit would merge with the previous factor.
                factor = self.term(budget)
                if factor[0].isdigit():
                    factor = self.scripted(self.symbol(), budget - 2)
                parts.append(factor)
            else:
                parts.append(self.pick(BINOPS))
                parts.append(self.term(budget))
        return " ".join(parts)

    def fraction(self, budget: int) -> str:
        cmd = self.rng.choices([r"\frac", r"\dfrac", r"\tfrac"], weights=[8, 1, 1])[0]
        return f"{cmd}{{{self.expression(budget - 1)}}}{{{self.expression(budget - 1)}}}"

    def root(self, budget: int) -> str:
        if self.rng.random() < 0.25:
            index = self.rng.choice(["3", "n", "k", "4"])
            return f"\\sqrt[{index}]{{{self.expression(budget - 1)}}}"
        return f"\\sqrt{{{self.expression(budget - 1)}}}"

    def big_operator(self, budget: int) -> str:
        op = self.pick(BIG_OPS)
        var = self.pick(INDEX_NAMES)
        start = self.rng.choice(["0", "1", r"-\infty"])
        lower = f"{var} = {start}"
        upper = self.rng.choice(["n", "N", r"\infty", "m", "k", str(self.rng.randint(2, 20))])
        body = self.expression(budget - 1)
        if self.rng.random() < 0.2:
            domain = self.pick(["S", "A", r"\mathcal{I}"])
            return f"{op}_{{{var} \\in {domain}}} {body}"
        return f"{op}_{{{lower}}}^{{{upper}}} {body}"

    def integral(self, budget: int) -> str:
        op = self.pick(INTEGRALS)
        var = self.rng.choice(["x", "t", "s", "u", r"\theta", "z"])
        body = self.expression(budget - 1)
        if op == r"\int" and self.rng.random() < 0.7:
            lo, hi = self.rng.choice([("0", "1"), ("a", "b"), ("0", r"\infty"),
                                      (r"-\infty", r"\infty"), ("0", "T"), ("-1", "1")])
            return f"\\int_{{{lo}}}^{{{hi}}} {body} \\, d {var}"
        return f"{op} {body} \\, d {var}"

    def limit(self, budget: int) -> str:
        op = self.pick(LIMIT_OPS)
        var = self.rng.choice(["x", "n", "t", r"\epsilon", "h"])
        target = self.rng.choice(["0", r"\infty", "a", "1", r"0^{+}"])
        if op in (r"\lim", r"\limsup", r"\liminf"):
            return f"{op}_{{{var} \\to {target}}} {self.term(budget - 1)}"
        return f"{op}_{{{var} \\in {self.pick(['X', 'S', 'K'])}}} {self.term(budget - 1)}"

    def function(self, budget: int) -> str:
        fn = self.pick(FUNCTIONS)
        if self.rng.random() < 0.2:
            fn = f"{fn}^{{{self.rng.choice(['2', '-1', 'n'])}}}"
        if self.rng.random() < 0.4:
            return f"{fn} {self.atom(budget - 1)}"
        return f"{fn} \\left( {self.expression(budget - 1)} \\right)"

    def bracketed(self, budget: int) -> str:
        left, right = self.pick(BRACKETS)
        inner = self.expression(budget - 1)
        if self.rng.random() < 0.6:
            return f"\\left{left} {inner} \\right{right}"
        return f"{left} {inner} {right}"

    def binomial(self, budget: int) -> str:
        return f"\\binom{{{self.index(budget)}}}{{{self.index(budget)}}}"

    def derivative(self, budget: int) -> str:
        fn = self.pick(["f", "y", "u", r"\phi", "F"])
        var = self.pick(["x", "t", "z"])
        order = self.rng.choice(["", "", "^{2}"])
        d = r"\partial" if self.rng.random() < 0.5 else "d"
        return f"\\frac{{{d}{order} {fn}}}{{{d} {var}{order}}}"

    def brace_note(self, budget: int) -> str:
        cmd, script = self.rng.choice([(r"\underbrace", "_"), (r"\overbrace", "^")])
        note = self.rng.choice(["n", "k", r"\text{terms}", r"=0", "N"])
        return f"{cmd}{{{self.expression(budget - 1)}}}{script}{{{note}}}"

    def matrix(self, budget: int) -> str:
        env = self.pick(MATRIX_ENVS)
        rows, cols = self.rng.randint(2, 4), self.rng.randint(2, 4)
        cells = []
        for _ in range(rows):
            row = []
            for _ in range(cols):
                row.append(self.atom(1) if self.rng.random() < 0.8 else self.term(min(budget, 2)))
            cells.append(" & ".join(row))
        body = " \\\\ ".join(cells)
        return f"\\begin{{{env}}} {body} \\end{{{env}}}"

    def cases(self, budget: int) -> str:
        count = self.rng.randint(2, 3)
        lines = []
        for i in range(count):
            if i == count - 1 and self.rng.random() < 0.5:
                condition = f"\\text{{{self.pick(['otherwise', 'else', 'elsewhere'])}}}"
            else:
                word = self.pick(["if", "for", "when"])
                relation = self.pick([">", "<", r"\geq", "="])
                condition = (
                    f"\\text{{{word} }} {self.pick(['x', 'n', 't'])} {relation} {self.number()}"
                )
            lines.append(f"{self.expression(budget - 1)} & {condition}")
        name = self.pick(["f", "g", r"\phi", "u"])
        var = self.pick(["x", "n", "t"])
        body = r" \\ ".join(lines)
        return f"{name}({var}) = \\begin{{cases}} {body} \\end{{cases}}"

    def formula(self, max_chars: int = 400) -> str:
        """A formula that fits one image line: wider draws are redrawn from the same stream."""
        for _ in range(50):
            text = self._formula()
            if len(text) <= max_chars:
                return text
        return self.atom(1)

    def _formula(self) -> str:
        budget = self.rng.choices([1, 2, 3, 4, 5], weights=[2, 4, 4, 2, 1])[0]
        roll = self.rng.random()
        if roll < 0.08:
            return self.cases(budget)
        if roll < 0.16:
            lhs = self.scripted(self.pick(LATIN[-20:]), 1)
            return f"{lhs} = {self.matrix(budget)}"
        if roll < 0.7:
            rel = self.pick(RELATIONS)
            return f"{self.expression(budget)} {rel} {self.expression(budget)}"
        if roll < 0.8:
            rels = [self.pick(RELATIONS[:6]) for _ in range(2)]
            return (f"{self.expression(budget - 1)} {rels[0]} {self.expression(budget - 1)} "
                    f"{rels[1]} {self.expression(budget - 1)}")
        return self.expression(budget)


class GeneratedFormulas(Source):
    """The built-in source: an endless stream of generated formulas."""

    def item(self, seed: int, k: int) -> Item:
        rng = random.Random(seed)
        return Item(k=k, seed=seed, content=FormulaGrammar(rng).formula(),
                    meta={"source": "generated"})


class FormulaFile(Source):
    """A user's text file, one formula per line; blank lines and `%` comment lines skipped."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        text = self.path.read_text(encoding="utf-8", errors="replace")
        self.lines = [
            (number, line.strip())
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("%")
        ]
        if not self.lines:
            raise ValueError(f"{self.path}: no formulas (one per line expected)")

    def size(self) -> int:
        return len(self.lines)

    def item(self, seed: int, k: int) -> Item:
        number, line = self.lines[k % len(self.lines)]
        return Item(k=k, seed=seed, content=line,
                    meta={"source": str(self.path.name), "line": number})
