"""`ocr2synth bench --all`: the report's table and projections, at tiny counts. No timing
is asserted, only that the figures are there, consistent and from this run."""

from __future__ import annotations

import re
from dataclasses import replace

from ocr2synth.pipelines.tools import bench
from ocr2synth.pipelines.tools.bench import run_all
from ocr2synth.pipelines.tools.bench_report import RendererBench, projections, stage_mixes
from ocr2synth.renderers.registry import REGISTRY
from ocr2synth.renderers.specs import Floor


def with_spec(monkeypatch, name: str, **fields) -> None:
    """The bench reads renderers' specs: a test swaps a field of one for this test."""
    monkeypatch.setitem(REGISTRY, name, replace(REGISTRY[name], **fields))


def test_report_has_a_row_per_renderer_and_projections(tmp_path, monkeypatch):
    calls = []

    def naive(items: list) -> float:
        calls.append(len(items))
        return 2.0

    with_spec(monkeypatch, "molecule", naive=naive)  # the real one forks a Python per sample
    out = tmp_path / "BENCHMARKS.md"
    text = run_all(out, seconds=0.5, max_count=16, repeats=2, naive_count=3, scaling=False,
                   renderers=["molecule"], progress=lambda m: None)
    assert out.read_text().strip() == text.strip()
    assert calls == [3]
    row = next(line for line in text.splitlines() if line.startswith("| molecule |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    rate = float(cells[1].replace(",", ""))
    assert rate > 0
    runs = re.match(r"(\d+) x 2: ([\d.]+), ([\d.]+)$", cells[2])
    assert runs and 8 <= int(runs[1]) <= 16
    assert sorted(float(runs[i]) for i in (2, 3))[0] <= rate  # the median of the two
    assert cells[3] == "2.00 (3)"
    assert abs(float(cells[4].rstrip("x")) - rate / 2.0) <= 0.06  # from the unrounded rate
    assert "Load average" in text and "### Stage 2:" in text
    # the molecule share of stage 2 is projected from the measured rate; the rest is missing
    # (from the unrounded rate: the rate cell's rounding moves the last digit on a slow run)
    hours = 1_000_000 / (rate * 64) / 3600
    slack = hours * 0.05 / rate + 0.005
    projected = re.search(r"^\| molecule \| 1,000,000 \| ([\d,.]+) \| ([\d,.]+) \|$", text,
                          re.MULTILINE)
    assert projected, text
    assert abs(float(projected[2].replace(",", "")) - hours) <= slack
    assert abs(float(projected[1].replace(",", "")) - hours * 64) <= slack * 64 + 0.05
    assert "not measured" in text


def test_projection_sums_measured_parts_and_names_the_rest():
    results = {"latex-formula": RendererBench("latex-formula", rates=[100.0]),
               "tikz": RendererBench("tikz", rates=[10.0, 30.0, 20.0])}
    total, parts = projections(results, cores=10)[2]
    expected = 1_000_000 / 1000 / 3600 + 1_000_000 / 200 / 3600
    assert abs(total - expected) < 1e-9
    missing = {name for name, _, hours in parts if hours is None}
    assert missing == set(stage_mixes()[2]) - set(results)


def test_every_registered_renderer_is_benched(monkeypatch):
    # run_all iterates the registry: renderers added later join without edits here
    seen = []
    monkey = {name: RendererBench(name, error="skipped") for name in REGISTRY}
    monkeypatch.setattr(bench, "per_core_runs",
                        lambda name, *a, **k: seen.append(name) or monkey[name])
    text = run_all("/dev/null", naive_count=0, scaling=False, progress=lambda m: None)
    assert seen == sorted(REGISTRY)
    assert all(f"| {name} | error: skipped" in text for name in REGISTRY)


def test_engine_floor_is_reported_beside_the_batched_rate(tmp_path, monkeypatch):
    with_spec(monkeypatch, "molecule", naive=lambda items: 2.0,
              floor=Floor("RDKit alone", lambda items: 1000.0))
    text = run_all(tmp_path / "B.md", seconds=0.5, max_count=16, repeats=1, naive_count=3,
                   scaling=False, renderers=["molecule"], progress=lambda m: None)
    row = next(line for line in text.splitlines() if line.startswith("| molecule |"))
    rate = float(row.split("|")[2].replace(",", ""))
    assert "## Engine floors" in text
    floor_row = re.search(r"\| molecule \| RDKit alone \| 1,000\.0 \| (\d+)% \|", text)
    assert floor_row and abs(int(floor_row[1]) - 100 * rate / 1000) <= 1
    # the real chart-mpl floor draws charts (and would fail if the renderer's draw changed)
    assert bench.floor_rate("chart-mpl", 2) > 0


def test_stage_mixes_come_from_the_specs():
    assert stage_mixes()[1] == {"pdf-page": 2_000_000}
    assert sum(stage_mixes()[2].values()) == 6_800_000  # GOT's stage-2 renders (paper)
    assert set(stage_mixes()[3]) == {"fine-grained", "multi-crop", "multi-page"}
