"""Both chart renderers end to end through `ocr2synth render` on the Ray test cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from ocr2synth.pipelines.cli import main


@pytest.mark.parametrize("renderer", ["chart-mpl", "chart-echarts"])
def test_render_command_writes_chart_shards(ray_address, tmp_path: Path, renderer):
    out = tmp_path / renderer
    code = main(["render", "--renderer", renderer, "--count", "6", "--shard-size", "3",
                 "--seed", "9", "--workers", "1", "--out", str(out), "--no-progress"])
    assert code == 0
    rows = [r for p in sorted((out / "shards").glob("*.parquet"))
            for r in pq.read_table(p).to_pylist()]
    rejects = [json.loads(line) for p in (out / "rejects").glob("*.jsonl")
               for line in p.read_text().splitlines()]
    assert len(rows) + len(rejects) == 6 and len(rows) >= 5
    for row in rows:
        target = json.loads(row["target"])
        assert list(target) == ["title", "source", "x_title", "y_title", "values"]
        assert target["values"] and row["renderer"] == renderer and row["task"] == "format"
        assert row["image"]["bytes"][:8] == b"\x89PNG\r\n\x1a\n"
    assert "{series: {x: value}}" in (out / "README.md").read_text()  # the target note
