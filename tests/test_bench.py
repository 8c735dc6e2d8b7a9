"""`ocr2synth bench --all`: the report's table and projections, at tiny counts. No timing
is asserted, only that the figures are there, consistent and from this run."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from ocr2synth.pipelines.tools import bench
from ocr2synth.pipelines.tools.bench import run_all
from ocr2synth.pipelines.tools.bench_report import (
    KEEP_MARKER,
    RendererBench,
    load_results,
    projections,
    stage_mixes,
)
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
    projected = re.search(r"^\| molecule \| 1,000,000 \| [\d,.]+ \| ([\d,.]+) \| ([\d,.]+) \|$",
                          text, re.MULTILINE)
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


def test_every_registered_renderer_is_benched(tmp_path, monkeypatch):
    # run_all iterates the registry: renderers added later join without edits here
    seen = []
    monkey = {name: RendererBench(name, error="skipped") for name in REGISTRY}
    monkeypatch.setattr(bench, "per_core_runs",
                        lambda name, *a, **k: seen.append(name) or monkey[name])
    text = run_all(tmp_path / "B.md", naive_count=0, scaling=False, progress=lambda m: None)
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


def test_a_run_of_some_renderers_keeps_the_other_rows_and_the_hand_written_sections(
        tmp_path, monkeypatch):
    rates = {"molecule": 5.0, "tikz": 7.0}
    monkeypatch.setattr(bench, "per_core_runs", lambda name, *a, **k: RendererBench(
        name, count=8, rates=[rates[name]]))
    out = tmp_path / "BENCHMARKS.md"
    run_all(out, naive_count=0, scaling=False, renderers=["molecule"], progress=lambda m: None)
    hand = f"{KEEP_MARKER}\n\n## Driver ceiling\n\nmeasured by hand: 415 chunks/s\n"
    out.write_text(out.read_text() + "\n" + hand)
    rates["molecule"] = 99.0  # a later run of tikz alone must not touch molecule's row
    text = run_all(out, naive_count=0, scaling=False, renderers=["tikz"],
                   progress=lambda m: None)
    rows: dict[str, str] = {}
    for line in text.splitlines():  # the renderers' table comes first, then the projections
        if line.startswith(("| molecule |", "| tikz |")):
            rows.setdefault(line.split("|")[1].strip(), line)
    assert rows["molecule"].split("|")[2].strip() == "5.0"
    assert rows["tikz"].split("|")[2].strip() == "7.0"
    assert re.search(r"\| \d{4}-\d\d-\d\d, `[^`]+`, load [\d.]+ \|$", rows["molecule"])
    written = out.read_text()
    assert written.endswith(hand) and written.count(KEEP_MARKER) == 1
    stored = load_results(out)
    assert set(stored) == {"molecule", "tikz"} and stored["molecule"].rates == [5.0]


def test_results_survive_their_json_round_trip():
    b = RendererBench("multi-crop", count=8, rates=[1.0, 2.0], scaling={1: 3.0, 2: 5.5},
                      from_base="64 stored markdown-page pages", from_rates=[9.0], from_count=16)
    back = RendererBench.from_json(json.loads(json.dumps(b.to_json())))
    assert back == b and back.projected_rate == 9.0


@pytest.mark.engine
def test_a_stage_3_task_is_measured_and_projected_from_a_stored_base(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "BASE_SAMPLES", 8)
    # the in-process rate (rendering its base pages) is not what this test is about
    monkeypatch.setattr(bench, "per_core_runs", _in_process_stub(bench.per_core_runs))
    text = run_all(tmp_path / "B.md", seconds=0.5, max_count=8, repeats=1, naive_count=0,
                   scaling=False, renderers=["fine-grained"], progress=lambda m: None)
    row = re.search(r"^\| fine-grained \| 8 stored markdown-page pages \| ([\d,.]+) \| "
                    r"(\d+) x 1: [\d.]+ \| 0\.5 \|", text, re.MULTILINE)
    assert row, text
    rate = float(row[1].replace(",", ""))
    assert rate > 0.5  # it reads pages back instead of typesetting them
    projected = re.search(r"^\| fine-grained \| 600,000 \| ([\d,.]+) \(from 8 stored "
                          r"markdown-page pages\) \| [\d,.]+ \| ([\d,.]+) \|$", text, re.MULTILINE)
    assert projected, text
    assert abs(float(projected[2]) - 600_000 / (rate * 64) / 3600) <= 0.01


def _in_process_stub(real):
    """per_core_runs as it is for a stored base; a fixed 0.5/s for the in-process runs."""
    def runs(name, *args, params=None, **kwargs):
        if params and params.get("from"):
            return real(name, *args, params=params, **kwargs)
        return RendererBench(name, count=8, rates=[0.5])
    return runs


def test_a_timed_run_is_at_least_one_of_the_renderers_batches(monkeypatch):
    # a 0.01 s budget sizes runs at the 8-sample minimum; the renderer's batch of 24 wins,
    # as a job would render it (its fixed per-batch costs spread over a whole batch)
    with_spec(monkeypatch, "latex-formula", batch_size=24)
    runs = bench.per_core_runs("latex-formula", seconds=0.01, max_count=64, repeats=1,
                               warmup=8)
    assert runs.count == 24 and len(runs.rates) == 1
    capped = bench.per_core_runs("latex-formula", seconds=0.01, max_count=12, repeats=1,
                                 warmup=8)
    assert capped.count == 12
