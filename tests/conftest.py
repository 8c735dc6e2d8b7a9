"""Shared fixtures. Ray starts once per test session: starting it costs ~10 s here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

DATA = Path(__file__).parent / "data"


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
    from renderers.latex.formula import LatexFormulaRenderer

    renderer = LatexFormulaRenderer({}, timeout_s=10)
    try:
        yield renderer
    finally:
        renderer.close()
