"""Table content: a generator of varied `tabular` environments, or a user's .tex files.

A generated table is built as rows of cells plus the rules between them, then printed in
one fixed layout (one row per line, ` & ` between cells, rules on their own lines), so the
target is the exact LaTeX that is typeset.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from ocr2synth.renderers.base import Item, Source
from ocr2synth.renderers.latex.formula_source import GREEK, FormulaGrammar
from ocr2synth.renderers.text.prose import EnglishProse

UNITS = ["ms", "s", "kg", "m", "cm", "MB", "GB", "Hz", "kHz", "K", "W", "V", "mm", "h"]
RULE_STYLES = ["booktabs", "grid", "hlines", "minimal", "none"]
CELL_KINDS = ["word", "int", "decimal", "percent", "unit", "pm", "math", "big"]
# A caption is typeset above the table as `\caption*{...}` (unnumbered, text as given).
CAPTION_RE = re.compile(r"^\\caption\*\{([^\n]*)\}\n")


@dataclass
class Table:
    """Rows of cells; `rules[i]` is printed before row i (and `rules[len(rows)]` after)."""

    spec: str
    rows: list[str] = field(default_factory=list)
    rules: dict[int, str] = field(default_factory=dict)
    caption: str | None = None

    def latex(self) -> str:
        lines = [f"\\caption*{{{self.caption}}}"] if self.caption else []
        lines.append(f"\\begin{{tabular}}{{{self.spec}}}")
        for index, row in enumerate(self.rows):
            if index in self.rules:
                lines.append(self.rules[index])
            lines.append(f"{row} \\\\")
        if len(self.rows) in self.rules:
            lines.append(self.rules[len(self.rows)])
        lines.append("\\end{tabular}")
        return "\n".join(lines)


class TableGrammar:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.prose = EnglishProse(rng)
        self.math = FormulaGrammar(rng)

    def cell(self, kind: str) -> str:
        rng = self.rng
        if kind == "word":
            return self.prose.words(1, 2).capitalize() if rng.random() < 0.5 else \
                self.prose.words(1, 1)
        if kind == "int":
            return str(rng.randint(0, 999))
        if kind == "big":
            return f"{rng.randint(1, 99)},{rng.randint(0, 999):03d}"
        if kind == "decimal":
            return f"{rng.uniform(0, 100):.{rng.randint(1, 3)}f}"
        if kind == "percent":
            return f"{rng.uniform(0, 100):.1f}\\%"
        if kind == "unit":
            return f"{rng.uniform(0, 500):.{rng.randint(0, 2)}f} {rng.choice(UNITS)}"
        if kind == "pm":
            return f"${rng.uniform(0, 1):.2f} \\pm {rng.uniform(0, 0.1):.2f}$"
        # inline math: a symbol, a scripted symbol or a short expression
        roll = rng.random()
        if roll < 0.3:
            return f"${rng.choice(GREEK)}$"
        if roll < 0.7:
            return f"${self.math.scripted(self.math.symbol(), 1)}$"
        return f"${self.math.expression(1)}$"

    def table(self) -> str:
        rng = self.rng
        ncols = rng.choices(range(2, 11), weights=[6, 8, 8, 7, 5, 4, 3, 2, 2])[0]
        nrows = rng.randint(2, max(3, 14 - ncols))
        rules = rng.choice(RULE_STYLES)
        kinds = ["word"] + [rng.choice(CELL_KINDS) for _ in range(ncols - 1)]
        if ncols >= 6 and rng.random() < 0.6:
            # wide tables are mostly numbers, as in papers
            kinds = ["word"] + [rng.choice(["int", "decimal", "percent"])] * (ncols - 1)
        aligns = [rng.choice("lc") if k == "word" else rng.choice("rcc") for k in kinds]
        if rng.random() < 0.1 and ncols <= 4:
            aligns[-1] = f"p{{{rng.choice([2, 2.5, 3])}cm}}"
            kinds[-1] = "word"
        # multirow groups in a leading category column (booktabs and grid only)
        grouped = nrows >= 4 and rules != "none" and rng.random() < 0.3
        if grouped:
            kinds.insert(0, "word")
            aligns.insert(0, "l")
            ncols += 1
        bars = rules == "grid" or (rules == "hlines" and rng.random() < 0.5)
        spec = ("|" + "|".join(aligns) + "|") if bars else "".join(aligns)
        if not bars and rng.random() < 0.2 and ncols >= 3:
            spec = aligns[0] + "|" + "".join(aligns[1:])
        table = Table(spec)

        header = [self.prose.words(1, 2).capitalize() for _ in range(ncols)]
        if rng.random() < 0.25:
            header[rng.randrange(1, ncols)] = self.cell("math")
        two_level = ncols >= 4 and rng.random() < 0.35
        if two_level:
            # a group header spanning the columns after the first one or two
            first = 2 if grouped else 1
            span = rng.randint(2, ncols - first)
            start = rng.randint(first, ncols - span)
            top = [""] * start + [f"\\multicolumn{{{span}}}{{c}}{{{header[start]}}}"] + \
                [""] * (ncols - start - span)
            table.rows.append(" & ".join(top))
            header[start:start + span] = [self.prose.words(1, 1).capitalize()
                                          for _ in range(span)]
            lo, hi = start + 1, start + span
            table.rules[1] = (f"\\cmidrule(lr){{{lo}-{hi}}}" if rules == "booktabs"
                              else f"\\cline{{{lo}-{hi}}}")
        table.rows.append(" & ".join(header))
        header_rows = len(table.rows)

        bold_col = rng.randrange(1, ncols) if rng.random() < 0.3 else None
        group_left = 0
        for r in range(nrows):
            cells = [self.cell(k) for k in kinds]
            if grouped:
                if group_left == 0:
                    group_left = min(rng.randint(2, 3), nrows - r)
                    cells[0] = (f"\\multirow{{{group_left}}}{{*}}{{{self.prose.words(1, 1)}}}"
                                if group_left > 1 else self.prose.words(1, 1))
                    first_of_group = True
                else:
                    cells[0] = ""
                    first_of_group = False
                group_left -= 1
            if bold_col is not None and r == nrows // 2 and "$" not in cells[bold_col]:
                cells[bold_col] = f"\\textbf{{{cells[bold_col]}}}"
            if rng.random() < 0.04:
                cells[-1] = "--"
            row_index = len(table.rows)
            table.rows.append(" & ".join(cells))
            if r > 0 and grouped and first_of_group:
                table.rules[row_index] = (r"\midrule" if rules == "booktabs" else r"\hline")
            elif r > 0 and rules == "grid":
                table.rules[row_index] = (f"\\cline{{2-{ncols}}}" if grouped else r"\hline")

        if rng.random() < 0.1 and not grouped:
            # a section row spanning the whole table
            at = rng.randint(header_rows + 1, len(table.rows) - 1) if nrows > 2 else None
            if at is not None:
                align = "|l|" if bars else "l"
                row = (f"\\multicolumn{{{ncols}}}{{{align}}}"
                       f"{{\\textit{{{self.prose.words(1, 2)}}}}}")
                table.rows.insert(at, row)
                table.rules = {(i + 1 if i >= at else i): v for i, v in table.rules.items()}

        n = len(table.rows)
        if rules == "booktabs":
            table.rules[0] = r"\toprule"
            table.rules[header_rows] = r"\midrule"
            table.rules[n] = r"\bottomrule"
        elif rules in ("grid", "hlines"):
            table.rules[0] = r"\hline"
            table.rules[header_rows] = r"\hline" if rules == "hlines" else r"\hline\hline"
            table.rules[n] = r"\hline"
        elif rules == "minimal":
            table.rules[header_rows] = r"\hline"
        if rng.random() < 0.25:
            table.caption = f"Table {rng.randint(1, 12)}: {self.prose.words(2, 6).capitalize()}"
        return table.latex()


class GeneratedTables(Source):
    def item(self, seed: int, k: int) -> Item:
        rng = random.Random(seed)
        return Item(k=k, seed=seed, content=TableGrammar(rng).table(),
                    meta={"source": "generated"})


MAX_FILE_BYTES = 64 * 2**20


def split_environments(text: str, env: str) -> list[str]:
    """Every outermost `env` environment in `text`, in order; an unclosed one is kept as
    it is (to its end of file), so the renderer rejects it with a reason."""
    found: list[str] = []
    depth, start = 0, 0
    for match in re.finditer(rf"\\(begin|end)\s*\{{{env}\}}", text):
        if match.group(1) == "begin":
            if depth == 0:
                start = match.start()
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                found.append(text[start:match.end()])
    if depth > 0:
        found.append(text[start:])
    return found


def split_tabulars(text: str) -> list[str]:
    return split_environments(text, "tabular")


class EnvironmentFiles(Source):
    """A user's `.tex` file, or a folder of them: one item per `env` environment, its
    number in its file under `meta[kind]`."""

    def __init__(self, path: str | Path, env: str, kind: str) -> None:
        self.path, self.kind = Path(path), kind
        files = sorted(self.path.rglob("*.tex")) if self.path.is_dir() else [self.path]
        self.found: list[tuple[str, int, str]] = []
        for file in files:
            try:  # oversized and unreadable files (broken links, no permission) are skipped
                if file.stat().st_size > MAX_FILE_BYTES:
                    continue
                text = file.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for number, found in enumerate(split_environments(text, env)):
                self.found.append((file.name, number, found))
        if not self.found:
            raise ValueError(f"{self.path}: no {env} environments found")

    def size(self) -> int:
        return len(self.found)

    def item(self, seed: int, k: int) -> Item:
        name, number, content = self.found[k % len(self.found)]
        return Item(k=k, seed=seed, content=content, meta={"source": name, self.kind: number})


class TableFiles(EnvironmentFiles):
    def __init__(self, path: str | Path) -> None:
        super().__init__(path, "tabular", "table")
