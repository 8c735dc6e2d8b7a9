"""A Parquet corpus through the whole job: rows carry provenance, hostile cells become
rejects with reasons, the job finishes, and the dataset card tables the source and its
licence."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ocr2synth.pipelines.core.recipe import parse_recipe
from ocr2synth.pipelines.core.runner import run_recipe

pytestmark = pytest.mark.engine


def test_parquet_formulas_render_with_provenance_and_card_sources(ray_address, tmp_path):
    cells = ["a^2 + b^2 = c^2", None, "\\frac{1}{n}", "x" * (2 << 20), "\\sqrt{x}"]
    corpus = tmp_path / "formulas.parquet"
    pq.write_table(pa.table({"latex": pa.array(cells, pa.string())}), corpus,
                   row_group_size=2)
    raw = {"name": "pq", "seed": 1, "shard_size": 8, "max_reject_rate": 1.0,
           "entries": [{"renderer": "latex-formula", "count": 5, "source": str(corpus),
                        "params": {"column": "latex", "license": "CC-BY-4.0",
                                   "order": "sequential"}}]}
    out = tmp_path / "out"
    run_recipe(parse_recipe(raw, Path.cwd(), {"latex-formula"}), out, workers=1,
               progress=False)
    rows = [r for p in sorted((out / "shards").glob("*.parquet"))
            for r in pq.read_table(p).to_pylist()]
    assert sorted(r["target"] for r in rows) == sorted(
        ["a^2 + b^2 = c^2", "\\frac{1}{n}", "\\sqrt{x}"])
    metas = [json.loads(r["meta"]) for r in rows]
    assert {m["position"] for m in metas} == {"row 0, formula 0", "row 2, formula 0",
                                              "row 4, formula 0"}
    assert all(m["corpus"] == "formulas.parquet" and m["license"] == "CC-BY-4.0"
               for m in metas)
    rejects = [json.loads(line) for p in (out / "rejects").glob("*.jsonl")
               for line in p.read_text().splitlines()]
    assert sorted(r["reason"] for r in rejects) == ["source-error", "source-error"]
    details = " ".join(r["detail"] for r in rejects)
    assert "empty: a null cell" in details and "too-long" in details
    card = (out / "README.md").read_text()
    assert "| latex-formula | formulas.parquet | CC-BY-4.0 | 1 | 3 |" in card
