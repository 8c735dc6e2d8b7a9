"""The built-in formula grammar: deterministic per seed, varied, and always lint-clean."""

from __future__ import annotations

import re
from collections import Counter

from ocr2synth.renderers.latex.formula import lint_formula
from ocr2synth.renderers.latex.formula_source import FormulaFile, GeneratedFormulas


def test_same_seed_gives_the_same_formula_and_other_seeds_differ():
    source = GeneratedFormulas()
    assert source.item(42, 0).content == source.item(42, 7).content
    formulas = {source.item(seed, 0).content for seed in range(300)}
    assert len(formulas) > 290


def test_grammar_covers_the_constructs_of_real_math():
    source = GeneratedFormulas()
    text = "\n".join(source.item(seed, 0).content for seed in range(600))
    constructs = {
        "fraction": r"\\frac\{", "root": r"\\sqrt", "nth root": r"\\sqrt\[", "sum": r"\\sum_",
        "integral with limits": r"\\int_\{", "limit": r"\\lim_", "matrix": r"\\begin\{\w?matrix\}",
        "cases": r"\\begin\{cases\}", "greek": r"\\(alpha|beta|Omega)", "accent": r"\\(hat|vec)\{",
        "subscript": r"_\{", "superscript": r"\^\{", "sized brackets": r"\\left",
        "function": r"\\(sin|log|exp)", "binomial": r"\\binom", "partial": r"\\partial",
        "relations": r"\\(leq|neq|approx)", "blackboard": r"\\mathbb",
    }
    missing = [name for name, pattern in constructs.items() if not re.search(pattern, text)]
    assert not missing


def test_grammar_nests_deeply():
    source = GeneratedFormulas()
    depths = Counter()
    for seed in range(400):
        depth = best = 0
        for ch in source.item(seed, 0).content:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            best = max(best, depth)
        depths[best] += 1
    assert max(depths) >= 4
    assert sum(n for d, n in depths.items() if d >= 3) > 30


def test_generated_formulas_pass_the_lint():
    source = GeneratedFormulas()
    problems = {f: lint_formula(f) for f in (source.item(s, 0).content for s in range(500))}
    assert {f: p for f, p in problems.items() if p} == {}


def test_lint_names_what_is_wrong():
    assert lint_formula(r"\input{/etc/passwd}") == r"forbidden: \input"
    assert lint_formula(r"\immediate\write18{rm -rf /}").startswith(r"forbidden: \immediate")
    assert lint_formula(r"\loop\iftrue\repeat") == r"forbidden: \loop"
    assert lint_formula(r"\frac{a}{b").startswith("unbalanced-braces")
    assert lint_formula("a}").startswith("unbalanced-braces")
    assert lint_formula(r"x % hidden").startswith("forbidden: %")
    assert lint_formula(r"\begin{document}") == "forbidden: environment 'document'"
    assert lint_formula(r"\frac{a}{b} + \left( x \right) \% \{ \}") is None
    assert lint_formula(r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}") is None
    assert lint_formula(r"x \\ y") == r"forbidden: \\ line break outside an environment"


def test_formula_file_skips_blank_and_comment_lines(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("x^2\n\n% a comment\n  \\alpha  \n")
    source = FormulaFile(path)
    assert source.size() == 2
    assert [source.item(0, k).content for k in range(3)] == ["x^2", r"\alpha", "x^2"]
    assert source.item(0, 1).meta["line"] == 4
