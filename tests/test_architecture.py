"""The layers hold (ARCHITECTURE.md, "Layers"): no module-level import circle among the
project's modules, renderers never import the trainer or the tools, the core never imports
the tools, the code cites no file outside the repository, and a module over about 400
lines says at its top why it is one module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipelines", "renderers", "trainer")
MAX_LINES = 420


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _top_level_imports(path: Path, modules: set[str]) -> set[str]:
    """Project modules imported at module level (not inside functions: those are lazy)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {n for n in names if n in modules}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _top_level_imports(path, set(modules)) for name, path in modules.items()}


def test_no_import_circle():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep] if dep in stack else [node, dep]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def _all_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize(("layer", "forbidden"), [
    ("renderers", ("trainer", "ocr2synth.pipelines.core", "ocr2synth.pipelines.tools")),
    ("pipelines/core", ("ocr2synth.pipelines.tools", "trainer")),
    ("pipelines/format", ("ocr2synth.pipelines.tools", "trainer")),
])
def test_layers_import_downwards_only(layer, forbidden):
    for path in sorted((ROOT / layer).rglob("*.py")):
        bad = [m for m in _all_imports(path) if m.startswith(forbidden)]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_layers_are_imported_under_the_package_name():
    # In a clone `pipelines` is importable as a top-level name too; a module imported both
    # ways would exist twice (two registries, two caches), and the wheel has only one.
    layers = ("pipelines", "renderers", "trainer", "templates")
    for folder in (*layers, "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            bad = [m for m in _all_imports(path) if m.split(".")[0] in layers]
            assert not bad, f"{path.relative_to(ROOT)} imports {bad} without `ocr2synth.`"


def test_the_wheel_lists_every_package_folder():
    # pyproject names the packages one by one (each folder maps under `ocr2synth`): a new
    # package missing there is missing from the wheel, and only a wheel install shows it.
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    folders = {"ocr2synth." + ".".join(p.parent.relative_to(ROOT).parts)
               for layer in ("pipelines", "renderers", "trainer")
               for p in (ROOT / layer).rglob("__init__.py")}
    assert folders - listed == set(), "add these to pyproject's packages"


def test_code_cites_no_file_outside_the_repository():
    for package in ("pipelines", "renderers", "templates", "tests"):
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix not in {".py", ".js", ".j2", ".yaml", ".css", ".html"}:
                continue
            if re.search(r"DESIGN(\.md| \d| section)", path.read_text(errors="replace")):
                if path.name != Path(__file__).name:
                    raise AssertionError(f"{path.relative_to(ROOT)} cites DESIGN")


def test_long_modules_say_why():
    for name, path in _modules().items():
        if name.startswith("trainer"):
            continue  # the trainer's layout is its own
        lines = path.read_text().splitlines()
        if len(lines) > MAX_LINES:
            head = "\n".join(lines[:15])
            assert "One module because" in head, (
                f"{path.relative_to(ROOT)} has {len(lines)} lines: split it, or say at its "
                "top why it is one module ('One module because ...')")
