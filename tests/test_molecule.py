"""`molecule`: real MOSES SMILES drawn by RDKit; targets are the source molecule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ocr2synth.pipelines.core.plan import sample_seed
from ocr2synth.renderers.base import Item, Reject, Sample
from ocr2synth.renderers.molecule.renderer import MoleculeRenderer
from ocr2synth.renderers.molecule.smiles_source import MosesSmiles, SmilesFile
from rdkit import Chem


@pytest.fixture(scope="module")
def renderer():
    r = MoleculeRenderer({}, timeout_s=10)
    try:
        yield r
    finally:
        r.close()


def moses_items(n: int, seed: int = 3) -> list[Item]:
    source = MosesSmiles()
    return [source.item(sample_seed(seed, "molecule", k), k) for k in range(n)]


def test_moses_source_reads_the_real_set_and_draws_subsets_by_seed():
    source = MosesSmiles()
    assert source.size() > 1_500_000  # the MOSES training split
    first = MosesSmiles("sequential").item(0, 0).content
    assert Chem.MolFromSmiles(first) is not None and first != "SMILES"
    items = moses_items(50)
    assert [i.content for i in items] == [i.content for i in moses_items(50)]
    assert [i.content for i in items] != [i.content for i in moses_items(50, seed=4)]
    assert len({i.meta["index"] for i in items}) == 50
    assert all(Chem.MolFromSmiles(i.content) is not None for i in items)


def test_targets_are_the_source_molecule_in_the_form_the_picture_shows(renderer):
    items = moses_items(40)
    outcomes = renderer.render_batch(items)
    samples = [(i, o) for i, o in zip(items, outcomes, strict=True) if isinstance(o, Sample)]
    assert len(samples) == len(items), [o for o in outcomes if isinstance(o, Reject)]
    forms = set()
    for item, sample in samples:
        source = Chem.MolFromSmiles(item.content)
        target = Chem.MolFromSmiles(sample.target)
        assert Chem.MolToInchiKey(target) == Chem.MolToInchiKey(source)
        form = sample.meta["smiles_form"]
        forms.add(form)
        aromatic_atoms = re.search(r"(?<![A-Z])[cnos]", sample.target.replace("[nH]", "n"))
        if form == "kekule":
            assert not aromatic_atoms, sample.target
        elif any(a.GetIsAromatic() for a in source.GetAtoms()):
            assert aromatic_atoms, sample.target
        assert sample.prompt == "OCR with format: "
        assert sample.image.size == (sample.meta["width"], sample.meta["height"])
    assert forms == {"kekule", "aromatic"}
    styles = {(s.meta["aromatic"], s.meta["colour"], s.meta["font"]) for _, s in samples}
    assert len(styles) > 10  # real variety, not one look


def test_hostile_and_odd_smiles(renderer):
    cases = {
        "not smiles": "this is not a molecule",
        "bad valence": "C(C)(C)(C)(C)C",
        "unclosed ring": "C1CCCC",
        "500 atoms": "C" * 500,
        "empty": "   ",
        "salt": "[Na+].[Cl-]",
        "charged": "C[N+](C)(C)C.[O-]C(=O)C",
        "aromatic": "c1ccc2ccccc2c1",
    }
    outcomes = renderer.render_batch([Item(i, 7 + i, s) for i, s in enumerate(cases.values())])
    result = {name: (o.reason if isinstance(o, Reject) else "ok")
              for name, o in zip(cases, outcomes, strict=True)}
    assert result == {"not smiles": "invalid-smiles", "bad valence": "invalid-smiles",
                      "unclosed ring": "invalid-smiles", "500 atoms": "too-many-atoms",
                      "empty": "empty", "salt": "ok", "charged": "ok", "aromatic": "ok"}
    salt = outcomes[5]
    assert Chem.MolToInchiKey(Chem.MolFromSmiles(salt.target)) == Chem.MolToInchiKey(
        Chem.MolFromSmiles("[Na+].[Cl-]"))


def test_smiles_file_skips_blanks_comments_and_header(tmp_path: Path):
    path = tmp_path / "mols.smi"
    path.write_text("SMILES\n\nCCO ethanol\n# a comment\n  \nc1ccccc1\n")
    source = SmilesFile(path)
    assert source.size() == 2
    assert [source.item(0, k).content for k in range(3)] == ["CCO", "c1ccccc1", "CCO"]
    assert source.item(0, 1).meta["line"] == 6
    (tmp_path / "none.smi").write_text("\n# nothing\n")
    with pytest.raises(ValueError, match="no SMILES"):
        SmilesFile(tmp_path / "none.smi")
