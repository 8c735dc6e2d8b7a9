"""`ocr2synth setup-assets`: what an installed wheel needs beside its Python packages.

A clone gets these from `make setup`. An install from the wheel gets them here, once per
environment, into `share/ocr2synth` under the environment's prefix, where the renderers
look when no variable says otherwise:
- the browser renderers' npm packages (mathpix-markdown-it, echarts) at the versions pinned
  by the lock file the wheel ships, with `npm ci` (OCR2SYNTH_ASSETS names another folder);
- the MOSES SMILES the molecule renderer draws, the CSVs out of the `molsets` wheel
  (OCR2SYNTH_MOSES_DIR names another folder).
Downloads happen here, at set-up time, never while rendering.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ocr2synth.renderers.browser.engine import LOCK_FILES, share_dir
from ocr2synth.renderers.molecule.smiles_source import extract_from_wheel

MOLSETS_VERSION = "0.3.1"  # the Makefile's MOLSETS_VERSION


def install_npm_assets(target: Path) -> Path:
    """`npm ci` of the shipped lock file into `target` (its node_modules)."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed (Debian: apt-get install npm)")
    target.mkdir(parents=True, exist_ok=True)
    for lock in LOCK_FILES:
        shutil.copyfile(lock, target / lock.name)
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts",
                    "--loglevel=error"], cwd=target, check=True)
    (target / "node_modules" / ".installed").touch()
    return target


def install_moses(target: Path) -> Path:
    """The MOSES CSVs from the molsets wheel (pip download, no install: the package itself
    would pull PyTorch and put top-level `moses` and `tests` packages in the environment)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        f"molsets=={MOLSETS_VERSION}", "-d", tmp], check=True)
        extract_from_wheel(next(Path(tmp).glob("molsets-*.whl")), target)
    return target


def setup_assets(root: Path | None = None, only: str | None = None) -> list[str]:
    """Install what is asked into `root` (default: this environment's share folder); the
    variables to export when `root` is not the default."""
    root = root or share_dir()
    lines = []
    if only in (None, "npm"):
        install_npm_assets(root / "assets")
        lines.append(f"OCR2SYNTH_ASSETS={root / 'assets'}")
    if only in (None, "moses"):
        install_moses(root / "moses")
        lines.append(f"OCR2SYNTH_MOSES_DIR={root / 'moses'}")
    return lines if root != share_dir() else []
