"""tikz: generated geometry in one canonical spelling, drawn on white, many per run; user
pictures that read files or run programs are rejected."""

from __future__ import annotations

import re

import numpy as np
import pytest
from ocr2synth.pipelines.core.plan import sample_seed
from ocr2synth.renderers.base import Item, Sample
from ocr2synth.renderers.imaging import ink_bbox
from ocr2synth.renderers.latex.tikz import TikzRenderer, lint_tikz
from ocr2synth.renderers.latex.tikz_source import GeneratedGeometry, TikzFiles


@pytest.fixture(scope="module")
def renderer():
    r = TikzRenderer({}, timeout_s=10)
    yield r
    r.close()


def items(count: int) -> list[Item]:
    source = GeneratedGeometry()
    return [source.item(sample_seed(7, "tikz", k), k) for k in range(count)]


def test_generated_pictures_cover_the_geometry_and_are_canonical():
    pictures = [item.content for item in items(300)]
    assert all(lint_tikz(p) is None for p in pictures)
    for feature in ["circle (", "rectangle", "-- cycle", "{angle =", "ellipse", "cosh",
                    "sin(", "^2", "node[", "grid", "dashed"]:
        assert sum(feature in p for p in pictures) >= 3, feature
    for picture in pictures:
        # canonical numbers: no trailing zeros, no "-0", no "1*" factors
        assert not re.search(r"\d\.\d*0[,)}: ]|-0[,)}]|[^.\d]1\*", picture), picture
        names = re.findall(r"\\coordinate \((\w)\)", picture)
        assert names == sorted(names)
    # the same seed gives the same code
    again = [item.content for item in items(20)]
    assert again == pictures[:20]


def test_pictures_are_cropped_drawings_with_their_code_as_target(renderer):
    batch = items(24)
    out = renderer.render_batch(batch)
    assert all(isinstance(s, Sample) for s in out)
    for item, sample in zip(batch, out, strict=True):
        assert sample.target == item.content
        margin = sample.meta["margin"]
        x0, y0, x1, y1 = ink_bbox(sample.image)
        assert (x0, y0) == (margin, margin)
        # the margin is white, not a colour (an RGB pad once came out red)
        pixels = np.asarray(sample.image)
        assert (pixels[:margin] == 255).all() and (pixels[:, :margin] == 255).all()


def test_labelled_points_show_their_labels(renderer):
    batch = [i for i in items(60) if "\\coordinate" in i.content][:10]
    style = renderer.style(batch[0])
    bodies = [renderer.body(i.content) for i in batch]
    with renderer.engine.typeset(renderer.preamble(style["font"]), bodies) as tex:
        for index, item in enumerate(batch):
            labels = sorted(re.findall(r"\{\$(\w)\$\}", item.content))
            assert sorted(tex.pdf[index].get_text().split()) == labels


def test_hostile_pictures_are_rejected_and_the_rest_render(renderer, tmp_path):
    good = items(1)[0].content
    (tmp_path / "user.tex").write_text("\n".join([
        good,
        r"\begin{tikzpicture}\draw plot file {/etc/passwd};\end{tikzpicture}",
        r"\begin{tikzpicture}\input{/etc/passwd}\end{tikzpicture}",
        r"\begin{tikzpicture}\draw (0,0) -- (1,1); \undefinedthing\end{tikzpicture}",
        r"\begin{tikzpicture}\draw (0,0) circle (1);\end{tikzpicture}",
        r"\begin{tikzpicture}\foreach \i in {1,2,...} {\coordinate (p) at (0,0);}"
        r"\end{tikzpicture}",
        "\\begin{tikzpicture}" + "\\draw (0,0) -- (1,1);" * 500_000 + "\\end{tikzpicture}",
    ]))
    source = TikzFiles(tmp_path)
    batch = [source.item(k, k) for k in range(source.size())]
    renderer.engine.timeout_s = 3
    try:
        out = renderer.render_batch(batch)
    finally:
        renderer.engine.timeout_s = renderer.timeout_s
    reasons = [o.reason if not isinstance(o, Sample) else "ok" for o in out]
    assert reasons == ["ok", "forbidden", "forbidden", "tex-error", "ok", "timeout", "too-long"]
    assert len(batch[-1].content) > 10 * 2**20


def test_angle_marks_sweep_the_interior_angle():
    # TikZ draws `angle = P--V--Q` counterclockwise from VP to VQ: that must be < 180 deg
    checked = 0
    for picture in (item.content for item in items(300)):
        points = {name: (float(x), float(y)) for name, x, y in
                  re.findall(r"\\coordinate \((\w)\) at \(([-\d.]+),([-\d.]+)\)", picture)}
        for p, v, q in re.findall(r"\{angle = (\w)--(\w)--(\w)\}", picture):
            (px, py), (vx, vy), (qx, qy) = points[p], points[v], points[q]
            assert (px - vx) * (qy - vy) - (py - vy) * (qx - vx) > 0, picture
            checked += 1
    assert checked >= 10
