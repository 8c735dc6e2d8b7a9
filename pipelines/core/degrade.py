"""Optional, seeded document degradation between validation and encoding
(ARCHITECTURE.md, "One sample's path"): paper texture, ink bleed, blur, noise, JPEG
artefacts, small rotations and perspective, shadows, low contrast.

The effects are Albumentations transforms, the geometry one OpenCV homography, and the
paper the project's own paper helper (renderers/paper.py), laid under the ink. Every
choice and magnitude is drawn from the sample's seed and written to `meta["degrade"]`,
and Albumentations runs seeded from the same seed, so a sample degrades to the same
bytes on any worker. Magnitudes stay mild: this is training data for reading, and a
degraded page must stay legible.

Boxes follow the geometry: each box's four corners go through the same rotation and
perspective matrix as the pixels, and the box becomes their enclosing axis-aligned box,
clipped to the image. The canvas grows to fit the turned page, so no text is cut off and
the target still describes everything the image shows.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from ocr2synth.renderers.base import Box, Reject, Sample
from ocr2synth.renderers.paper import paper
from PIL import Image

# Albumentations asks the network for a newer version on import unless told not to.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

EFFECTS = ("paper", "ink-bleed", "blur", "noise", "jpeg", "shadow", "low-contrast",
           "rotate", "perspective")
GEOMETRY = ("rotate", "perspective")
PAPER_KINDS = ("bright", "cream", "ivory", "aged", "grey", "blueish")


@dataclass(frozen=True)
class DegradeSettings:
    """A recipe entry's `degrade:` block. `p`: the share of samples degraded; `effects`:
    the effects that may be drawn (each with probability `effect_p`, at least one per
    degraded sample); `max_rotation`: degrees either way."""

    p: float = 0.5
    effects: tuple[str, ...] = EFFECTS
    effect_p: float = 0.4
    max_rotation: float = 2.0


def plan(settings: DegradeSettings, seed: int) -> dict[str, Any] | None:
    """What to apply to the sample with this seed, with every magnitude; None: untouched."""
    rng = random.Random(seed ^ 0xDE9_4ADE)
    if rng.random() >= settings.p:
        return None
    chosen = [e for e in settings.effects if rng.random() < settings.effect_p]
    if not chosen:
        chosen = [rng.choice(settings.effects)]
    steps: dict[str, Any] = {}
    for effect in EFFECTS:  # a fixed order: geometry first, paper under the ink, JPEG last
        if effect not in chosen:
            continue
        if effect == "rotate":
            steps[effect] = {"degrees": round(rng.uniform(-1, 1) * settings.max_rotation, 2)}
        elif effect == "perspective":
            # each corner of the page moves by up to 3% of the page's width and height
            scale = 0.03
            steps[effect] = {"corners": [round(rng.uniform(-scale, scale), 4)
                                         for _ in range(8)]}
        elif effect == "paper":
            steps[effect] = {"kind": rng.choice(PAPER_KINDS)}
        elif effect == "ink-bleed":
            steps[effect] = {"px": rng.choice([2, 2, 3])}
        elif effect == "blur":
            steps[effect] = {"sigma": round(rng.uniform(0.4, 1.0), 2)}
        elif effect == "noise":
            steps[effect] = {"std": round(rng.uniform(0.02, 0.07), 3)}
        elif effect == "shadow":
            steps[effect] = {"intensity": round(rng.uniform(0.1, 0.3), 2)}
        elif effect == "low-contrast":
            steps[effect] = {"contrast": round(rng.uniform(-0.45, -0.2), 2),
                             "brightness": round(rng.uniform(0.0, 0.12), 2)}
        elif effect == "jpeg":
            steps[effect] = {"quality": rng.randint(35, 80)}
    return steps


def degrade(sample: Sample, settings: DegradeSettings, seed: int) -> Sample | Reject:
    """The sample, degraded as `plan` says (or as it was); a failure is a reject."""
    steps = plan(settings, seed)
    if steps is None:
        return sample
    try:
        image, boxes = _apply(sample.image, sample.boxes, steps, seed)
    except Exception as exc:  # a library error costs this sample, not its chunk
        return Reject("degrade-error", f"{type(exc).__name__}: {exc}")
    return replace(sample, image=image, boxes=boxes,
                   meta={**sample.meta, "degrade": steps})


def _apply(image: Image.Image, boxes: list[Box], steps: dict[str, Any], seed: int
           ) -> tuple[Image.Image, list[Box]]:
    import albumentations as A

    arr = np.asarray(image.convert("RGB"))
    if "rotate" in steps or "perspective" in steps:
        arr, boxes = _geometry(arr, boxes, steps)
    if "paper" in steps:
        background = np.asarray(paper((arr.shape[1], arr.shape[0]),
                                      random.Random(seed), steps["paper"]["kind"]))
        # multiply: ink stays ink, white becomes paper
        arr = (arr.astype(np.uint16) * background // 255).astype(np.uint8)
    effects = []
    if "ink-bleed" in steps:
        px = steps["ink-bleed"]["px"]
        # erosion spreads the dark strokes (the ink) into the white around them
        effects.append(A.Morphological(scale=(px, px), operation="erosion", p=1.0))
    if "blur" in steps:
        sigma = steps["blur"]["sigma"]
        effects.append(A.GaussianBlur(sigma_limit=(sigma, sigma), blur_limit=0, p=1.0))
    if "noise" in steps:
        std = steps["noise"]["std"]
        effects.append(A.GaussNoise(std_range=(std, std), per_channel=False, p=1.0))
    if "shadow" in steps:
        level = steps["shadow"]["intensity"]
        effects.append(A.PlasmaShadow(shadow_intensity_range=(level, level), roughness=2.0,
                                      p=1.0))
    if "low-contrast" in steps:
        c, b = steps["low-contrast"]["contrast"], steps["low-contrast"]["brightness"]
        effects.append(A.RandomBrightnessContrast(brightness_limit=(b, b),
                                                  contrast_limit=(c, c), p=1.0))
    if "jpeg" in steps:
        q = steps["jpeg"]["quality"]
        effects.append(A.ImageCompression(quality_range=(q, q), p=1.0))
    if effects:
        arr = A.Compose(effects, seed=(seed >> 1) % 2**32)(image=arr)["image"]
    out_image = Image.fromarray(np.ascontiguousarray(arr), mode="RGB")
    if image.mode == "L" and "paper" not in steps:
        out_image = out_image.convert("L")  # grey stays grey (and encodes faster)
    return out_image, boxes


def _geometry(arr: np.ndarray, boxes: list[Box], steps: dict[str, Any]
              ) -> tuple[np.ndarray, list[Box]]:
    """Rotation and perspective as one homography: the pixels are warped once (OpenCV) onto
    a canvas that fits the whole turned page, and each box's four corners go through the
    same matrix; the box becomes their enclosing axis-aligned box, clipped to the image.
    (Two transforms applied one after the other would enclose an enclosing box, looser at
    each step.)"""
    import cv2

    height, width = arr.shape[:2]
    matrix = np.eye(3)
    if "rotate" in steps:
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), steps["rotate"]["degrees"], 1)
        matrix = np.vstack([turn, [0, 0, 1]]) @ matrix
    if "perspective" in steps:
        page = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
        moved = page + np.float32(steps["perspective"]["corners"]).reshape(4, 2) * [width,
                                                                                    height]
        matrix = cv2.getPerspectiveTransform(page, moved.astype(np.float32)) @ matrix
    corners = _through(matrix, [(0, 0, width, height)])[0]
    shift = np.array([[1, 0, -corners[0]], [0, 1, -corners[1]], [0, 0, 1]])
    matrix = shift @ matrix
    size = (int(np.ceil(corners[2] - corners[0])), int(np.ceil(corners[3] - corners[1])))
    warped = cv2.warpPerspective(arr, matrix, size, flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
    moved_boxes = _through(matrix, [(b.x0, b.y0, b.x1, b.y1) for b in boxes])
    out = []
    for box, (x0, y0, x1, y1) in zip(boxes, moved_boxes, strict=True):
        out.append(Box(max(0.0, x0), max(0.0, y0), min(float(size[0]), x1),
                       min(float(size[1]), y1), box.text))
    return warped, out


def _through(matrix: np.ndarray, rects: list[tuple[float, float, float, float]]
             ) -> list[tuple[float, float, float, float]]:
    """Each rectangle's four corners through the homography, as their enclosing box."""
    if not rects:
        return []
    r = np.asarray(rects, dtype=np.float64)
    pts = np.stack([r[:, [0, 1]], r[:, [2, 1]], r[:, [2, 3]], r[:, [0, 3]]], axis=1)
    homogeneous = np.concatenate([pts, np.ones(pts.shape[:2] + (1,))], axis=2) @ matrix.T
    xy = homogeneous[..., :2] / homogeneous[..., 2:3]
    lo, hi = xy.min(axis=1), xy.max(axis=1)
    return [tuple(float(v) for v in (a[0], a[1], b[0], b[1])) for a, b in zip(lo, hi,
                                                                            strict=True)]
