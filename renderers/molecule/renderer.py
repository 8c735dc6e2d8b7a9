"""`molecule`: SMILES drawn by RDKit's Cairo drawer, with the target SMILES checked
against the source molecule by InChIKey.

Target form: RDKit's canonical isomeric SMILES, in the Kekulé form (no aromatic flags,
explicit double bonds) when the picture shows alternating double bonds, and in the
aromatic form (lower-case atoms) when it shows aromatic rings as circles or dashed bonds.
Hydrogens stay implicit in the target even when the picture draws them.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from ocr2synth.renderers.base import PROMPT_FORMAT, Item, Reject, Renderer, Sample
from ocr2synth.renderers.imaging import ink_bbox, touches_edge
from PIL import Image
from rdkit import Chem, RDLogger
from rdkit.Chem import rdAbbreviations, rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D
from rdkit.Geometry import Point2D

FONTS: dict[str, str] = {
    "DejaVu Sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "DejaVu Serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "DejaVu Sans Bold": "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "Latin Modern Sans": "/usr/share/texmf/fonts/opentype/public/lm/lmsans10-regular.otf",
    "Latin Modern Roman": "/usr/share/texmf/fonts/opentype/public/lm/lmroman10-regular.otf",
}
AROMATIC_STYLES = ["kekule", "circles", "dashed"]
MAX_SMILES_CHARS = 1000
DEFAULT_MAX_ATOMS = 100


def parse_smiles(smiles: str) -> tuple[Chem.Mol | None, str]:
    """The sanitized molecule, or None and why RDKit refused it."""
    mol = Chem.MolFromSmiles(smiles, sanitize=False)
    if mol is None:
        return None, "RDKit cannot parse it"
    failed = Chem.SanitizeMol(mol, catchErrors=True)
    if failed != Chem.SanitizeFlags.SANITIZE_NONE:
        return None, f"sanitization failed at {failed.name}"
    return mol, ""


def identity(mol: Chem.Mol) -> str:
    """What two molecules must share to be the same: the InChIKey, or the canonical
    SMILES where InChI has no answer (some organometallics)."""
    key = Chem.MolToInchiKey(mol)
    return key if key else "smiles:" + Chem.MolToSmiles(mol)


class MoleculeRenderer(Renderer):
    name = "molecule"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.max_atoms = int(params.get("max_atoms", DEFAULT_MAX_ATOMS))
        self.fonts = {k: v for k, v in FONTS.items() if Path(v).exists()}
        self.abbreviations = rdAbbreviations.GetDefaultAbbreviations()
        RDLogger.DisableLog("rdApp.*")  # failures become reject reasons, not log noise

    def style(self, item: Item, heavy_atoms: int) -> dict[str, Any]:
        rng = self.style_rng(item)
        side = rng.randint(256, 640)
        aspect = rng.choice([1.0, 1.0, 1.25, 1.5, 0.8])
        return {
            "width": side, "height": max(200, int(side / aspect)),
            "bond_width": round(rng.uniform(1.0, 3.0), 2),
            "font": rng.choice(sorted(self.fonts)) if self.fonts else "",
            "font_scale": round(rng.uniform(0.55, 1.0), 2),
            "rotate": rng.choice([0, 0, 0, rng.randint(0, 359)]),
            "aromatic": rng.choices(AROMATIC_STYLES, [5, 3, 2])[0],
            "explicit_h": heavy_atoms <= 25 and rng.random() < 0.1,
            "colour": rng.random() < 0.6,
            "abbreviate": rng.random() < 0.25,
            "coordgen": rng.random() < 0.5,
            "padding": round(rng.uniform(0.03, 0.12), 3),
        }

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        return [self.render_one(item) for item in items]

    def render_one(self, item: Item) -> Sample | Reject:
        smiles = item.content.strip() if isinstance(item.content, str) else ""
        if not smiles:
            return Reject("empty", "no SMILES")
        if len(smiles) > MAX_SMILES_CHARS:
            return Reject("too-long", f"{len(smiles)} characters (limit {MAX_SMILES_CHARS})")
        mol, why = parse_smiles(smiles)
        if mol is None:
            return Reject("invalid-smiles", why)
        heavy = mol.GetNumHeavyAtoms()
        if heavy == 0:
            return Reject("no-atoms", "the SMILES holds no heavy atom")
        if heavy > self.max_atoms:
            return Reject("too-many-atoms", f"{heavy} heavy atoms (limit {self.max_atoms})")
        style = self.style(item, heavy)
        target = self.target(mol, style)
        again, why = parse_smiles(target)
        if again is None or identity(again) != identity(mol):
            return Reject("target-mismatch", f"target {target!r} is not the source molecule")
        try:
            image = self.draw(mol, style)
        except (RuntimeError, ValueError) as exc:
            return Reject("draw-error", str(exc))
        if isinstance(image, Reject):
            return image
        meta = dict(style, smiles_form="kekule" if style["aromatic"] == "kekule"
                    else "aromatic", **item.meta)
        return Sample(image=image, target=target, prompt=PROMPT_FORMAT, task="format",
                      meta=meta)

    @staticmethod
    def target(mol: Chem.Mol, style: dict[str, Any]) -> str:
        if style["aromatic"] == "kekule":
            kekule = Chem.Mol(mol)
            Chem.Kekulize(kekule, clearAromaticFlags=True)
            return Chem.MolToSmiles(kekule, kekuleSmiles=True)
        return Chem.MolToSmiles(mol)

    def draw(self, mol: Chem.Mol, style: dict[str, Any]) -> Image.Image | Reject:
        drawn = Chem.Mol(mol)
        if style["explicit_h"]:
            drawn = Chem.AddHs(drawn)
        if style["abbreviate"]:
            drawn = rdAbbreviations.CondenseMolAbbreviations(drawn, self.abbreviations,
                                                             maxCoverage=0.4)
        rdDepictor.SetPreferCoordGen(style["coordgen"])
        rdDepictor.Compute2DCoords(drawn)
        rings: list[tuple[int, ...]] = []
        if style["aromatic"] == "circles":
            drawn, rings = _rings_as_circles(drawn)
        kekulize = style["aromatic"] == "kekule"
        drawn = rdMolDraw2D.PrepareMolForDrawing(drawn, kekulize=kekulize)
        drawer = rdMolDraw2D.MolDraw2DCairo(style["width"], style["height"])
        opts = drawer.drawOptions()
        opts.bondLineWidth = style["bond_width"]
        opts.rotate = style["rotate"]
        opts.padding = style["padding"]
        opts.baseFontSize = style["font_scale"]
        opts.prepareMolsBeforeDrawing = False
        if style["font"]:
            opts.fontFile = self.fonts[style["font"]]
        if not style["colour"]:
            opts.useBWAtomPalette()
        drawer.DrawMolecule(drawn)
        if rings:
            _draw_circles(drawer, drawn, rings, style["bond_width"])
        drawer.FinishDrawing()
        image = Image.open(io.BytesIO(drawer.GetDrawingText())).convert("RGB")
        if not style["colour"]:
            image = image.convert("L")
        box = ink_bbox(image, threshold=200)
        if box is None:
            return Reject("blank", "nothing was drawn")
        if touches_edge(box, image.size):
            return Reject("clipped", "the drawing touches the image edge")
        return image

    def close(self) -> None:
        RDLogger.EnableLog("rdApp.*")


def _rings_as_circles(mol: Chem.Mol) -> tuple[Chem.Mol, list[tuple[int, ...]]]:
    """A copy whose aromatic ring bonds are plain single bonds, and the rings to circle."""
    info = mol.GetRingInfo()
    rings = [ring for ring in info.AtomRings()
             if all(mol.GetAtomWithIdx(i).GetIsAromatic() for i in ring)
             and all(mol.GetBondBetweenAtoms(a, b).GetIsAromatic()
                     for a, b in zip(ring, ring[1:] + ring[:1], strict=True))]
    if not rings:
        return mol, []
    editable = Chem.RWMol(mol)
    for bond in editable.GetBonds():
        if bond.GetIsAromatic():
            bond.SetBondType(Chem.BondType.SINGLE)
            bond.SetIsAromatic(False)
    for atom in editable.GetAtoms():
        atom.SetIsAromatic(False)
        # keep each atom's hydrogen count: [nH] stays NH once the ring is all singles
        atom.SetNumExplicitHs(atom.GetTotalNumHs())
        atom.SetNoImplicit(True)
    out = editable.GetMol()
    out.UpdatePropertyCache(strict=False)
    return out, rings


def _draw_circles(drawer: Any, mol: Chem.Mol, rings: list[tuple[int, ...]],
                  width: float) -> None:
    drawer.SetLineWidth(max(1, int(round(width))))
    drawer.SetFillPolys(False)
    drawer.SetColour((0.0, 0.0, 0.0))
    for ring in rings:
        points = [drawer.GetDrawCoords(i) for i in ring]
        cx = sum(p.x for p in points) / len(points)
        cy = sum(p.y for p in points) / len(points)
        # inscribed radius: the distance from the centre to the nearest bond midpoint
        mids = [((a.x + b.x) / 2, (a.y + b.y) / 2)
                for a, b in zip(points, points[1:] + points[:1], strict=True)]
        radius = 0.6 * min(math.hypot(mx - cx, my - cy) for mx, my in mids)
        drawer.DrawArc(Point2D(cx, cy), radius, 0.0, 360.0, rawCoords=True)
