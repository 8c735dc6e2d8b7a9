"""chart-mpl: every kind renders, the figure's own artists hold exactly the target's
series, categories and values, text never clashes, hostile tables are handled."""

from __future__ import annotations

import math

import pytest
from matplotlib.collections import PathCollection
from matplotlib.patches import Wedge
from matplotlib.text import Text
from ocr2synth.renderers.base import Item, Reject, Sample
from ocr2synth.renderers.chart.spec import KINDS, ChartSpec, parse_target
from ocr2synth.renderers.chart.spec_source import ChartGrammar
from ocr2synth.renderers.chart.tables import ChartTables

from tests.conftest import DATA


@pytest.fixture(scope="module")
def renderer():
    from ocr2synth.renderers.chart.mpl import MplChartRenderer

    r = MplChartRenderer({}, timeout_s=20)
    yield r
    r.close()


def one_of_each_kind() -> list[Item]:
    import random

    items = []
    for k, kind in enumerate(KINDS):
        spec = ChartGrammar(random.Random(k)).spec(kind, "zh" if k % 3 == 0 else "en")
        items.append(Item(k, 7000 + k, spec.to_dict(), {"kind": kind}))
    return items


def painted_texts(fig) -> set[str]:
    """Every visible text on the figure, lines joined (wrapping breaks at spaces)."""
    return {" ".join(t.get_text().split("\n")) for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip()}


def figure_values(fig, kind: str) -> list[float]:
    """The numbers the figure's data artists encode, read from the artists alone."""
    ax = fig.axes[0]
    values: list[float] = []
    for patch in ax.patches:
        if isinstance(patch, Wedge):
            values.append((patch.theta2 - patch.theta1) / 360)
        elif hasattr(patch, "get_height"):
            values.append(patch.get_width() if kind == "hbar" else patch.get_height())
    for line in ax.lines:
        values += [float(y) for y in line.get_ydata() if math.isfinite(y)]
    for coll in ax.collections:
        if not isinstance(coll, PathCollection):  # area fills repeat their lines
            continue
        values += [float(y) for _, y in coll.get_offsets()]
    return values


def test_every_kind_draws_exactly_its_target(renderer):
    for item in one_of_each_kind():
        out = renderer.render_one(item)
        assert isinstance(out, Sample), (item.meta, out)
        target = parse_target(out.target)
        fig = renderer.figure
        texts = painted_texts(fig)
        # every series and category of the target is a visible text on the figure
        for name, row in target["values"].items():
            assert name in texts, (item.meta["kind"], name)
            if item.meta["kind"] != "scatter":
                assert set(row) <= texts, (item.meta["kind"], set(row) - texts)
        assert target["title"] in texts
        kind = item.meta["kind"]
        drawn = figure_values(fig, kind)
        want = [v for row in target["values"].values() for v in row.values()]
        if kind in ("pie", "donut"):
            total = sum(want)
            assert sorted(round(v, 6) for v in drawn) == sorted(round(v / total, 6)
                                                                for v in want)
        elif kind == "radar":
            # each polygon is closed: its first point is drawn twice
            assert sorted(drawn) == sorted(want + [row[next(iter(row))] for row in
                                                    target["values"].values()])
        else:
            # every target value is an artist's value, and nothing else is drawn
            assert sorted(round(v, 6) for v in drawn) == sorted(round(v, 6) for v in want), kind
        assert out.image.size == (out.meta["width"], out.meta["height"])
        assert renderer.clash() == ""


def test_a_drawing_that_differs_from_its_spec_is_rejected():
    from ocr2synth.renderers.chart.mpl import MplChartRenderer

    class Lying(MplChartRenderer):
        def draw(self, spec, style):
            wrong = ChartSpec.from_dict(spec.to_dict())
            wrong.series[0].values[0] = (wrong.series[0].values[0] or 0) + 5
            return super().draw(wrong, style)

    r = Lying({}, timeout_s=20)
    item = one_of_each_kind()[0]
    out = r.render_one(item)
    assert isinstance(out, Reject) and out.reason == "target-mismatch"
    r.close()


def test_text_that_would_overlap_is_found(renderer):
    item = one_of_each_kind()[0]
    assert isinstance(renderer.render_one(item), Sample)
    ax = renderer._ax
    renderer._texts.append(ax.text(0.5, 0.5, "clash", transform=ax.transAxes))
    renderer._texts.append(ax.text(0.5, 0.5, "clash again", transform=ax.transAxes))
    renderer.canvas.draw()
    assert "overlap" in renderer.clash()


def test_hostile_tables_render_legibly_or_are_rejected_with_a_reason(renderer):
    source = ChartTables(DATA / "charts")
    outcomes = {}
    for k in range(source.size()):
        item = source.item(k, k)
        out = renderer.render_batch([item])[0]
        outcomes[item.meta["file"]] = out
        if isinstance(out, Sample):
            assert renderer.clash() == ""
    reasons = {f: o.reason for f, o in outcomes.items() if isinstance(o, Reject)}
    assert reasons.get("rtl_labels.csv") == "rtl-text"
    assert reasons.get("very_long_label.csv") == "label-too-long"
    assert reasons.get("tiny_numbers.csv") == "values-too-small"
    for name in ("long_labels.csv", "nan_cells.csv", "empty_series.csv", "cjk_table.json",
                 "huge_numbers.json"):
        assert isinstance(outcomes[name], Sample), (name, outcomes[name])
    assert "黑龙江" in outcomes["cjk_table.json"].target
    assert "Noto" in outcomes["cjk_table.json"].meta["font"]
    fifty = outcomes["fifty_categories.csv"]
    assert isinstance(fifty, Sample) or fifty.reason in ("overlap", "clipped")
    if isinstance(fifty, Sample):
        assert len(parse_target(fifty.target)["values"]["Rainfall (mm)"]) == 50


def _same_size_items() -> tuple[Item, list[Item], Item]:
    """A chart C from the built-in source and predecessors drawn at C's canvas size (so
    they share its figure, canvas and text caches) in other styles: B another chart, A and
    D C's own content drawn under other seeds, in C's font at other font sizes (so C's very
    strings are laid out at other sizes before C asks for them). Whatever a predecessor
    leaves behind lands on C."""
    from ocr2synth.renderers.chart.mpl import MplChartRenderer
    from ocr2synth.renderers.chart.spec_source import GeneratedCharts

    source, probe = GeneratedCharts(), MplChartRenderer({}, timeout_s=20)

    def look(item: Item) -> dict:
        style = probe.style(item, ChartSpec.from_dict(item.content))
        return {**style, "canvas": (style["width"], style["height"])}

    c = source.item(9100, 0)
    want = look(c)
    seen_sizes, seen_styles, kin = {want["size"]}, {want["style"]}, []
    for seed in range(9200, 9600):
        twin = Item(0, seed, c.content, c.meta)
        got = look(twin)
        if (got["canvas"] == want["canvas"] and got["font"] == want["font"]
                and got["size"] not in seen_sizes and got["style"] not in seen_styles):
            kin.append(twin)
            seen_sizes.add(got["size"])
            seen_styles.add(got["style"])
    others = [item for k in range(1, 120) for item in [source.item(9100 + k, k)]
              if look(item)["canvas"] == want["canvas"]
              and look(item)["style"] != want["style"]]
    assert len(kin) >= 2 and others, "no predecessors at C's canvas size"
    return c, [kin[0], others[0]], kin[1]


def _outcome(out: Sample | Reject) -> tuple:
    from ocr2synth.renderers.imaging import encode_image

    if isinstance(out, Reject):
        return ("reject", out.reason, out.detail)
    return (encode_image(out.image, "png", 1, "auto"), out.target, out.prompt,
            sorted(out.meta.items()))


def test_a_charts_bytes_do_not_depend_on_what_the_worker_drew_before():
    """C drawn after A and B, alone in a fresh renderer, and after D in another: the same
    PNG bytes and the same target each time (the figure, its axes and the text caches are
    reused per size, so a property one chart sets and the next does not reset would show
    here)."""
    from ocr2synth.renderers.chart.mpl import MplChartRenderer

    c, (a, b), d = _same_size_items()
    outcomes = []
    for history in ([a, b], [], [d]):
        r = MplChartRenderer({}, timeout_s=20)
        # a predecessor rejected (a clash) has drawn on the figure all the same
        ran = r.render_batch([*history, c])
        assert isinstance(ran[-1], Sample), ran[-1]
        outcomes.append(_outcome(ran[-1]))
        r.close()
    assert outcomes[0] == outcomes[1], "C after A, B differs from C alone"
    assert outcomes[2] == outcomes[1], "C after D differs from C alone"


def test_the_text_memo_lives_only_inside_its_block_and_keys_on_the_font_size():
    """Matplotlib's own methods are back after the block (an exception and a nested block
    included), so other renderers in the process draw with Matplotlib's own code; inside, a
    text at another size is laid out again, not answered from the memo."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontManager
    from matplotlib.text import Text
    from ocr2synth.renderers.chart.text_memo import remembered_layouts

    layout, findfont = Text._get_layout, FontManager.findfont
    fig = Figure(dpi=100)
    renderer = FigureCanvasAgg(fig).get_renderer()
    text = fig.text(0.5, 0.5, "1204.75", fontsize=10)
    memo: dict = {}
    with pytest.raises(RuntimeError):
        with remembered_layouts(memo):
            assert Text._get_layout is not layout and FontManager.findfont is not findfont
            with remembered_layouts(memo):
                small = text.get_window_extent(renderer)
            assert Text._get_layout is not layout  # the outer block still holds
            text.set_fontsize(20)
            large = text.get_window_extent(renderer)
            raise RuntimeError("leaves the block")
    assert Text._get_layout is layout and FontManager.findfont is findfont
    assert memo, "the block remembered nothing"
    assert large.width > 1.5 * small.width
    assert tuple(large.bounds) == tuple(text.get_window_extent(renderer).bounds)
