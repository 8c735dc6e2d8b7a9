"""`ocr2synth bench --all`: the report's table and projections, at tiny counts. No timing
is asserted, only that the figures are there, consistent and from this run."""

from __future__ import annotations

import re

from pipelines import bench
from pipelines.bench import NAIVE, STAGE_MIXES, RendererBench, projections, run_all
from renderers.registry import REGISTRY


def test_report_has_a_row_per_renderer_and_projections(tmp_path, monkeypatch):
    calls = []

    def naive(count: int) -> float:
        calls.append(count)
        return 2.0

    monkeypatch.setitem(NAIVE, "molecule", naive)  # the real one forks a Python per sample
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
    hours = 1_000_000 / (rate * 64) / 3600
    assert f"| molecule | 1,000,000 | {hours * 64:,.1f} | {hours:,.2f} |" in text
    assert "not measured" in text


def test_projection_sums_measured_parts_and_names_the_rest():
    results = {"latex-formula": RendererBench("latex-formula", rates=[100.0]),
               "tikz": RendererBench("tikz", rates=[10.0, 30.0, 20.0])}
    total, parts = projections(results, cores=10)[2]
    expected = 1_000_000 / 1000 / 3600 + 1_000_000 / 200 / 3600
    assert abs(total - expected) < 1e-9
    missing = {name for name, _, hours in parts if hours is None}
    assert missing == set(STAGE_MIXES[2]) - set(results)


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
    monkeypatch.setitem(NAIVE, "molecule", lambda count: 2.0)
    monkeypatch.setitem(bench.FLOOR, "molecule", ("RDKit alone", lambda count: 1000.0))
    text = run_all(tmp_path / "B.md", seconds=0.5, max_count=16, repeats=1, naive_count=3,
                   scaling=False, renderers=["molecule"], progress=lambda m: None)
    row = next(line for line in text.splitlines() if line.startswith("| molecule |"))
    rate = float(row.split("|")[2].replace(",", ""))
    assert "## Engine floors" in text
    floor_row = re.search(r"\| molecule \| RDKit alone \| 1,000\.0 \| (\d+)% \|", text)
    assert floor_row and abs(int(floor_row[1]) - 100 * rate / 1000) <= 1
    # the real chart-mpl floor draws charts (and would fail if the renderer's draw changed)
    assert bench.floor_chart_mpl(2) > 0
