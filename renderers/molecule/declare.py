"""The renderer this package provides: molecule (SMILES drawn by RDKit)."""

from __future__ import annotations

from typing import Any

from ocr2synth.renderers.base import Source
from ocr2synth.renderers.params import choice, integer
from ocr2synth.renderers.specs import RendererSpec, ref

_HERE = __package__  # this package, for the spec references below


def _smiles_source(path: str | None, params: dict[str, Any]) -> Source:
    from ocr2synth.renderers.molecule.smiles_source import MosesSmiles, SmilesFile

    order = params.get("order")
    return SmilesFile(path, order or "sequential") if path else MosesSmiles(order or "random")


SPECS = [
    RendererSpec(
        "molecule", _smiles_source, ref(f"{_HERE}.renderer:MoleculeRenderer"),
        batch_size=128,
        # its row in the README's renderer tables (`ocr2synth renderers --markdown`)
        readme=(
            ('MOSES SMILES (1.58M real molecules; `order: random` draws a seeded subset, '
             '`sequential` walks the file) or `--source FILE`'),
            ('RDKit canonical SMILES, Kekulé or aromatic form as drawn'),
        ),
        description="molecules drawn by RDKit (target: SMILES of the molecule drawn)",
        target_note="RDKit canonical isomeric SMILES; the Kekulé form (explicit double "
        "bonds, no lower-case aromatic atoms) when the picture draws alternating double "
        "bonds, the aromatic form when it draws rings as circles or dashed bonds "
        "(`meta.smiles_form` says which); hydrogens implicit even when drawn; the "
        "target's InChIKey equals the source molecule's",
        params=(
            integer("max_atoms", 100, "heavier molecules are rejected", 1),
            choice("order", None, "random: a seeded subset (default for MOSES); sequential: "
                   "the file's order (default for --source)", ("random", "sequential")),
        ),
        target_kind="smiles",
        naive=ref(f"{_HERE}.baseline:naive_molecule"),
        got_mix={2: 1_000_000},
        demo=({"count": 32},),
        rejects=("clipped", "draw-error", "empty", "invalid-smiles", "no-atoms",
                 "target-mismatch", "too-long", "too-many-atoms"),
        pair_proof="the target's InChIKey must equal the source molecule's, and the "
        "drawing must not touch the canvas edge",
    ),
]
