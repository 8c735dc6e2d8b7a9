"""The contract every registered renderer keeps (ARCHITECTURE.md, "Contracts"), checked over
the registry so a new renderer is held to it without a line here: a complete spec (gallery
kind, bench baseline, a stated pair proof, a parameter schema that covers every key its
package reads), and, with its engine, deterministic samples whose targets have their
kind's form and boxes lie on the image, and only declared reject reasons."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from ocr2synth.pipelines.core.plan import sample_seed
from ocr2synth.pipelines.core.recipe import demo_recipe, parse_recipe
from ocr2synth.renderers.base import Reject, Sample
from ocr2synth.renderers.imaging import encode_image
from ocr2synth.renderers.registry import REGISTRY
from ocr2synth.renderers.specs import COMMON_REJECTS, README_TABLES, TARGET_KINDS, readme_table

NAMES = list(REGISTRY)
ROOT = Path(__file__).resolve().parents[1]
# keys read as `params.get("key"` / `params["key"]` in a package's modules
_READ = re.compile(r"params(?:\.get\(|\[)\"([a-z_]+)\"")


def _package_of(name: str) -> Path:
    module = REGISTRY[name].make_renderer.__name__.split(":")[0]
    return ROOT / Path(*module.split(".")[:-1])


@pytest.mark.unit
@pytest.mark.parametrize("name", NAMES)
def test_spec_is_complete(name):
    spec = REGISTRY[name]
    assert spec.description and spec.pair_proof, "say what it renders and how it proves it"
    kinds = {spec.kind_of(task, "x", meta) for task in ("ocr", "format")
             for meta in ({}, {"engine": "mathjax"})}
    assert kinds <= set(TARGET_KINDS)
    assert spec.naive is not None, "the bench compares every renderer with a naive baseline"
    assert set(spec.got_mix) <= {1, 2, 3}
    assert spec.demo and all(entry.get("count", 0) >= 1 for entry in spec.demo)
    assert spec.batch_size >= 1
    assert len(spec.readme) in README_TABLES, "give it a row of the README's tables"


@pytest.mark.unit
@pytest.mark.parametrize("name", NAMES)
def test_parameter_schema_documents_and_accepts_its_defaults(name):
    spec = REGISTRY[name]
    names = [p.name for p in spec.params]
    assert len(names) == len(set(names))
    for param in spec.params:
        assert param.doc, f"{param.name} needs a line of doc"
        concrete = param.default is not None and not (
            param.kind == "choices" and isinstance(param.default, str))
        if concrete:  # a described default ("all") is the renderer's own list
            assert param.problem(param.default) is None, param.help()


@pytest.mark.unit
def test_every_key_a_package_reads_is_declared():
    """A key read in a renderer package but missing from its specs would be refused by the
    recipe check: the schema and the code must not drift apart."""
    for package in {_package_of(name) for name in NAMES}:
        read = {key for path in package.glob("*.py") for key in _READ.findall(path.read_text())}
        declared = {p.name for name in NAMES if _package_of(name) == package
                    for p in REGISTRY[name].params}
        assert read <= declared, f"{package.name}: {sorted(read - declared)} undeclared"


@pytest.mark.unit
def test_demo_recipe_has_every_renderer_and_passes_the_check():
    recipe = parse_recipe(demo_recipe(), None, set(REGISTRY))
    assert {e.renderer for e in recipe.entries} == set(REGISTRY)


def _render_twice(name: str, count: int = 2) -> tuple[list, list]:
    spec = REGISTRY[name]
    runs = []
    for _ in range(2):
        source = spec.make_source(None, {})
        items = [source.item_at(k, lambda j: sample_seed(7, name, j)) for k in range(count)]
        renderer = spec.make_renderer({}, 30)
        try:
            runs.append(renderer.render_batch(items))
        finally:
            renderer.close()
    return runs[0], runs[1]


def _digest(outcome: Sample | Reject) -> tuple:
    if isinstance(outcome, Reject):
        return ("reject", outcome.reason)
    images = [outcome.image, *outcome.images]
    blobs = b"".join(encode_image(im, "png", 1, "auto") for im in images)
    return (hashlib.sha256(blobs).hexdigest(), outcome.target, outcome.prompt, outcome.task)


def _pair_problem(kind: str, sample: Sample) -> str | None:
    """What a target of this kind must be whatever the renderer: the truthful-pair check each
    renderer makes from its own record is its business; this holds every target to its
    kind's form, so the gallery and the trainer can read it."""
    target = sample.target
    if not target.strip():
        return "empty target"
    if kind == "json":
        value = json.loads(target)
        if list(value) != ["title", "source", "x_title", "y_title", "values"]:
            return f"chart keys {list(value)}"
    elif kind == "kern" and "**kern" not in target:
        return "no **kern spine"
    elif kind == "smiles":
        from rdkit import Chem

        if Chem.MolFromSmiles(target) is None:
            return "unparsable SMILES"
    for box in sample.boxes:
        if not (0 <= box.x0 <= box.x1 <= sample.image.width + 1
                and 0 <= box.y0 <= box.y1 <= sample.image.height + 1):
            return f"box {box} outside the image"
    return None


@pytest.mark.engine
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_renders_deterministically_with_declared_reasons(name):
    first, second = _render_twice(name)
    assert [_digest(o) for o in first] == [_digest(o) for o in second]
    spec = REGISTRY[name]
    for outcome in first:
        if isinstance(outcome, Sample):
            kind = spec.kind_of(outcome.task, outcome.target, outcome.meta)
            assert _pair_problem(kind, outcome) is None, (name, _pair_problem(kind, outcome))
    allowed = set(COMMON_REJECTS) | set(REGISTRY[name].rejects)
    # a task passes its base's reject on as base-REASON
    bases = {f"base-{r}" for spec in REGISTRY.values() for r in (*spec.rejects, *COMMON_REJECTS)}
    for outcome in first:
        if isinstance(outcome, Reject):
            assert outcome.reason in allowed | bases, outcome


@pytest.mark.unit
def test_readme_tables_are_the_specs_rows():
    """README.md's renderer tables are `ocr2synth renderers --markdown`: a spec's `readme`
    row changed, or a renderer added, shows here until the README is regenerated."""
    readme = (ROOT / "README.md").read_text()
    for cells in README_TABLES:
        assert readme_table(list(REGISTRY.values()), cells) in readme, (
            "README.md's renderer tables differ from the specs: paste "
            "`ocr2synth renderers --markdown`")
