"""Shared fixtures. Ray starts once per test session: starting it costs ~10 s here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

DATA = Path(__file__).parent / "data"

# What each test needs, by module, where its tests carry no mark of their own: `engine`
# needs TeX, Chromium, Verovio or a Ray cluster; `slow` takes more than a few seconds on
# two cores; every other test is `unit` (`make test-fast` runs those).
ENGINE_MODULES = {
    "test_chart_echarts", "test_chart_pipeline", "test_cluster", "test_degrade", "test_export",
    "test_faults", "test_golden", "test_hostile_sources", "test_hostile_tex_sources",
    "test_latex_formula_renderer", "test_latex_page_renderer", "test_latex_table_renderer",
    "test_markdown_page", "test_music", "test_paths", "test_pdf_page", "test_pipeline",
    "test_preview", "test_tasks", "test_tex_engine", "test_tikz_renderer",
    "test_trainer_parallel", "test_wheel",
}
SLOW_MODULES = {
    "test_bench", "test_cluster", "test_faults", "test_golden", "test_markdown_page",
    "test_pdf_page", "test_pipeline", "test_preview", "test_tasks", "test_trainer",
    "test_trainer_eval", "test_trainer_parallel", "test_trainer_starts", "test_trainer_proof",
    "test_trainer_gpu_check", "test_trainer_speed", "test_wheel", "test_export",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        marks = {m.name for m in item.iter_markers()}
        if module in SLOW_MODULES and "slow" not in marks:
            item.add_marker(pytest.mark.slow)
            marks.add("slow")
        if not marks & {"unit", "engine"}:
            engine = module in ENGINE_MODULES
            item.add_marker(pytest.mark.engine if engine else pytest.mark.unit)


@pytest.fixture(scope="session")
def ray_address() -> str:
    """A local two-CPU Ray cluster; in-process runs reuse it, subprocesses join by address."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024 * 1024,
             log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def formula_renderer():
    from ocr2synth.renderers.latex.formula import LatexFormulaRenderer

    renderer = LatexFormulaRenderer({}, timeout_s=10)
    try:
        yield renderer
    finally:
        renderer.close()
