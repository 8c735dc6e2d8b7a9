"""Paths from recipes and sources never lead a write outside the output folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ocr2synth.pipelines.core.recipe import RecipeError, parse_recipe
from ocr2synth.pipelines.core.runner import run_recipe
from ocr2synth.pipelines.format.figures import PLOTS
from ocr2synth.pipelines.format.verify import verify_dataset
from ocr2synth.renderers.faults import SCRATCH_ENV

TABLE = "\\begin{tabular}{ll}\nname & value \\\\\nalpha & 1 \\\\\n\\end{tabular}\n"


@pytest.mark.parametrize("name", ["../escape", "/tmp/abs", "a/b", "..", "x\ny", ""])
def test_recipe_and_entry_names_that_are_paths_are_refused(tmp_path: Path, name):
    # the recipe name is the default output folder, an entry name part of every sample id
    base = {"seed": 1, "entries": [{"renderer": "latex-formula", "count": 1}]}
    with pytest.raises(RecipeError, match="recipe.name: use letters"):
        parse_recipe({**base, "name": name}, tmp_path, {"latex-formula"})
    entry = {"renderer": "latex-formula", "count": 1, "name": name}
    with pytest.raises(RecipeError, match=r"entries\[0\].name: use letters"):
        parse_recipe({"name": "ok", "seed": 1, "entries": [entry]}, tmp_path,
                     {"latex-formula"})


def tree(root: Path, skip: set[Path]) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if Path(dirpath, d) not in skip]
        for name in filenames + dirnames:
            path = Path(dirpath, name)
            stat = path.lstat()
            out[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return out


def test_hostile_source_names_and_links_write_nothing_outside_out(ray_address, tmp_path: Path,
                                                                   monkeypatch):
    scratch = tmp_path / "scratch"
    monkeypatch.setenv(SCRATCH_ENV, str(scratch))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "far.tex").write_text(TABLE.replace("alpha", "farther"))
    (outside / "far.md").write_text("A page from outside the source folder.\n")
    tables, pages = tmp_path / "tables", tmp_path / "pages"
    for folder, suffix, text in ((tables, ".tex", TABLE),
                                 (pages, ".md", "# Title\n\nPlain words on a page.\n")):
        folder.mkdir()
        for name in ("..hidden", "-rf ", "new\nline", "..%2f..%2fescape", "ü ß"):
            (folder / f"{name}{suffix}").write_text(text)
        (folder / "link").symlink_to(outside)  # a folder link leading out of the source
        (folder / f"broken{suffix}").symlink_to(tmp_path / f"nowhere{suffix}")
    # content that names paths outside: TeX may neither read nor write them, and the page
    # must not load them
    (tables / "writes.tex").write_text(TABLE.replace(
        "alpha", "\\immediate\\openout3=../../escaped-rel.tex\\immediate\\write3{x} "
        f"\\immediate\\openout4={tmp_path}/escaped-abs.tex\\immediate\\write4{{x}} a"))
    (pages / "refs.md").write_text(
        f"![x](../../escaped.png) and ![y]({tmp_path}/outside/far.md) and "
        "[z](file:///etc/passwd) words.\n")
    out = tmp_path / "out"
    before = tree(tmp_path, {out, scratch})
    raw = {"name": "paths", "seed": 2, "shard_size": 8, "max_reject_rate": 1.0,
           "entries": [{"renderer": "latex-table", "count": 8, "source": str(tables)},
                       {"renderer": "markdown-page", "count": 8, "source": str(pages)}]}
    summary = run_recipe(parse_recipe(raw, Path.cwd(), {"latex-table", "markdown-page"}), out,
                         workers=2, progress=False)
    assert summary.manifest["complete"] and verify_dataset(out).ok
    rows = summary.manifest["totals"]["rows"]
    assert rows >= 10  # the honest files rendered
    reasons = {r["reason"] for r in (json.loads(line) for p in (out / "rejects").iterdir()
                                     for line in p.read_text().splitlines())}
    assert reasons == {"forbidden", "unreadable"}  # the writing table, the broken link
    assert tree(tmp_path, {out, scratch}) == before  # nothing written or changed outside
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["README.md", "manifest.json", "rejects", "shards", *PLOTS.values()])
    assert all(p.name.startswith("part-") for p in (out / "shards").iterdir())
    assert list(scratch.iterdir()) == []  # engine temp folders are gone too
    assert not any(Path(p).exists() for p in ("/escaped-rel.tex", "/tmp/escaped-rel.tex"))
