"""The wheel outside the clone: built from the repository's files, installed into a fresh
virtualenv in another folder, it imports only under `ocr2synth`, installs its npm assets
with `ocr2synth setup-assets`, and renders the golden recipe (every renderer and task) to
exactly the golden bytes the clone renders (tests/test_golden.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from ocr2synth.renderers.molecule.smiles_source import moses_dir

from tests.conftest import DATA
from tests.golden_digests import dataset_digests, differences

ROOT = Path(__file__).resolve().parents[1]


def _repository_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [line for line in listed.splitlines() if (ROOT / line).is_file()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding the wheel; its dependencies come from this environment (a .pth
    line: no download, and not this environment's editable install of the clone)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    for rel in _repository_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", str(src), "-w", str(work / "dist")],
                   check=True, cwd=work)
    (wheel,) = (work / "dist").glob("ocr2synth-*.whl")
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], capture_output=True, text=True,
                          check=True).stdout.strip()
    (Path(site) / "ocr2synth-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, cwd=work)
    return env_dir


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "OCR2SYNTH_ASSETS", "OCR2SYNTH_TEMPLATES")}
    return env


def test_the_wheel_installs_only_the_ocr2synth_name(installed, tmp_path):
    probe = ("import importlib.util, json, ocr2synth, ocr2synth.pipelines.cli, "
             "ocr2synth.trainer.model, ocr2synth.renderers.templates as t\n"
             "print(json.dumps({'file': ocr2synth.__file__, 'templates': str(t.TEMPLATES_DIR),"
             " 'generic': [n for n in ('pipelines', 'renderers', 'trainer', 'templates', "
             "'tests') if importlib.util.find_spec(n)]}))")
    out = subprocess.run([str(installed / "bin" / "python"), "-c", probe], cwd=tmp_path,
                         env=_env(), capture_output=True, text=True, check=True).stdout
    found = json.loads(out)
    assert found["file"].startswith(str(installed)), found
    assert found["templates"].startswith(str(installed))
    assert (Path(found["templates"]) / "latex" / "page.tex.j2").is_file()
    assert found["generic"] == []


def test_the_installed_wheel_renders_every_renderer_to_the_golden_bytes(installed, tmp_path):
    env = {**_env(), "OCR2SYNTH_MOSES_DIR": str(moses_dir()),
           "npm_config_prefer_offline": "true"}  # npm's cache from `make setup`
    bin_dir = installed / "bin"
    subprocess.run([str(bin_dir / "ocr2synth"), "setup-assets", "--only", "npm"],
                   cwd=tmp_path, env=env, check=True, timeout=600)
    assert (installed / "share" / "ocr2synth" / "assets" / "node_modules" / "echarts").is_dir()
    recipe = tmp_path / "recipe.yaml"
    shutil.copy(DATA / "golden" / "recipe.yaml", recipe)
    run = subprocess.run([str(bin_dir / "ocr2synth"), "render", str(recipe), "--out",
                          str(tmp_path / "out"), "--workers", "2", "--no-progress"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    want = json.loads((DATA / "golden" / "digests.json").read_text())
    problems = differences(dataset_digests(tmp_path / "out"), want)
    assert not problems, "\n".join(problems)
