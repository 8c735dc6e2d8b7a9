"""Bad recipes fail before any work starts, with one line that names the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.recipe import RecipeError, load_recipe, parse_recipe

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
