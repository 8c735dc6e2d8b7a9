"""Bad recipes fail before any work starts, with one line that names the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from ocr2synth.pipelines.core.recipe import RecipeError, load_recipe, parse_recipe

KNOWN = {"latex-formula"}


def _recipe(**overrides):
    raw = {"name": "t", "seed": 1, "entries": [{"renderer": "latex-formula", "count": 4}]}
    raw.update(overrides)
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_recipe(colour="red"), "unknown key 'colour'"),
        (_recipe(seed="one"), "recipe.seed: expected int, got str"),
        (_recipe(entries=[{"renderer": "latex-formula", "count": -3}]),
         "count: must be at least 1"),
        (_recipe(entries=[{"renderer": "latex-formula", "count": True}]), "got a boolean"),
        (_recipe(entries=[{"renderer": "nope", "count": 1}]), "unknown renderer 'nope'"),
        (_recipe(entries=[{"renderer": "latex-formula", "count": 1, "sorce": "x"}]),
         "entries[0]: unknown key 'sorce'"),
        (_recipe(entries=[{"renderer": "latex-formula", "count": 1, "source": "missing.txt"}]),
         "does not exist"),
        (_recipe(entries=[]), "entries: empty"),
        (_recipe(entries=[{"renderer": "latex-formula", "count": 1}] * 2),
         "give each a distinct 'name'"),
        (_recipe(max_reject_rate=2), "between 0 and 1"),
        (_recipe(image={"format": "bmp"}), "recipe.image.format"),
        ({"seed": 1, "entries": []}, "missing 'name'"),
    ],
)
def test_bad_recipe_is_refused_with_a_one_line_reason(tmp_path: Path, raw, message):
    with pytest.raises(RecipeError) as info:
        parse_recipe(raw, tmp_path, KNOWN)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_yaml_cannot_execute_code(tmp_path: Path):
    path = tmp_path / "evil.yaml"
    marker = tmp_path / "pwned"
    path.write_text(
        f"name: !!python/object/apply:os.system ['touch {marker}']\nseed: 1\nentries: []\n"
    )
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(path, KNOWN)
    assert not marker.exists()


def test_source_paths_resolve_against_the_recipe_folder(tmp_path: Path):
    (tmp_path / "formulas.txt").write_text("x^2\n")
    path = tmp_path / "r.yaml"
    path.write_text(
        "name: r\nseed: 3\nentries:\n  - renderer: latex-formula\n    count: 2\n"
        "    source: formulas.txt\n"
    )
    recipe = load_recipe(path, KNOWN)
    assert recipe.entries[0].source == str((tmp_path / "formulas.txt").resolve())


def test_recipe_hash_changes_with_content_only(tmp_path: Path):
    a = parse_recipe(_recipe(), tmp_path, KNOWN)
    b = parse_recipe(_recipe(), tmp_path, KNOWN)
    c = parse_recipe(_recipe(seed=2), tmp_path, KNOWN)
    assert a.content_hash() == b.content_hash() != c.content_hash()


# The parameters a new user mistypes: each fails in one line naming the entry, the key and
# what is allowed, with exit status 2, quickly, before Ray starts and before any file.
@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("dpii=300", "params.dpii: latex-formula has no parameter 'dpii'; did you mean 'dpi'?"),
        ("fonts=[nosuchfont]", "params.fonts: unknown 'nosuchfont'; latex-formula takes a "
                               "non-empty list from computer-modern"),
        ("dpi=banana", "params.dpi: got 'banana'; latex-formula takes [lo, hi]"),
        ("dpi=[10,20]", "params.dpi: got [10, 20]; latex-formula takes [lo, hi] with lo <= hi,"
                        " ints in 36..1200"),
        ("display=1.5", "params.display: got 1.5; latex-formula takes a number in 0..1"),
    ],
)
def test_bad_params_fail_in_one_line_before_work(param, message, tmp_path, capsys):
    import time

    from ocr2synth.pipelines.cli import main

    started = time.monotonic()
    code = main(["render", "--renderer", "latex-formula", "--count", "4", "--out",
                 str(tmp_path / "out"), "--param", param])
    err = capsys.readouterr().err.strip()
    assert code == 2 and time.monotonic() - started < 10
    assert err.startswith("error: entries[0] (latex-formula): ") and "\n" not in err
    assert message in err
    assert not (tmp_path / "out").exists()


def test_recipe_params_are_checked_and_name_the_entry():
    raw = _recipe(entries=[{"renderer": "pdf-page", "name": "slices", "count": 1,
                            "params": {"unit": ["line", "column"]}}])
    with pytest.raises(RecipeError, match=r"entries\[0\] \(slices\): params.unit: unknown "
                                          r"'column'"):
        parse_recipe(raw, None, {"pdf-page"})
    raw = _recipe(entries=[{"renderer": "fine-grained", "count": 1,
                            "params": {"base_params": {"zhh": 0.5}}}])
    with pytest.raises(RecipeError, match=r"base_params.zhh: latex-page has no parameter"):
        parse_recipe(raw, None, {"fine-grained"})
