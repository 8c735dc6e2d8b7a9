"""The preview gallery, driven in headless Chromium: load, filter, page, open, screenshot,
and what is shown checked against the shard. The network is blocked and watched."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from ocr2synth.pipelines.core.plan import ChunkSpec, ShardSpec
from ocr2synth.pipelines.core.recipe import ImageSettings
from ocr2synth.pipelines.core.worker import RenderWorker
from ocr2synth.pipelines.format.shards import ShardWriter
from ocr2synth.pipelines.tools.preview import build_preview, target_kind
from ocr2synth.renderers.browser.engine import CHROMIUM, CHROMIUM_ARGS
from ocr2synth.renderers.imaging import encode_image
from PIL import Image

HOSTILE = '</script><script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
BOOKTABS = ("\\begin{tabular}{lcc}\n\\toprule\n & \\multicolumn{2}{c}{Group} \\\\\n"
            "\\cmidrule(lr){2-3}\nName & A & B \\\\\n\\midrule\nx & $1$ & 2 \\\\\n"
            "\\bottomrule\n\\end{tabular}")
PAGE_SIZE = 4


def _rendered_rows(renderer: str, count: int) -> list[dict]:
    worker = RenderWorker(ImageSettings(), timeout_s=20)
    try:
        shard = ShardSpec(0, 0, renderer, renderer, {}, None, 0, count)
        return worker.render_chunk(ChunkSpec(shard, 0, count, 11)).rows
    finally:
        worker.close()


def _made_row(sid: str, renderer: str, task: str, target: str, pages: int) -> dict:
    """A row of a renderer that has no engine here: a chart with page images, or one the
    gallery does not know."""
    images = []
    for i in range(pages):
        image = Image.new("RGB", (200 + 40 * i, 120), "white")
        image.paste((30, 90 + 60 * i, 200), (20, 20, 120 + 40 * i, 100))
        images.append({"bytes": encode_image(image, "png", 1, "RGB"), "path": f"{sid}-{i}.png"})
    return {"id": sid, "image": images[0], "images": images[1:], "prompt": "OCR with format: ",
            "target": target, "task": task, "renderer": renderer, "width": 200, "height": 120,
            "boxes": [], "meta": json.dumps({"made": True}), "seed": 1}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gallery-set")
    chart = json.dumps({"title": "Sales", "source": "", "x_title": "year", "y_title": "units",
                        "values": {"north": {"2020": 3, "2021": 5}}})
    groups = [
        _rendered_rows("molecule", 6),
        _rendered_rows("music", 3),
        _rendered_rows("latex-formula", 3),
        [_made_row("chart-echarts-00000000", "chart-echarts", "format", chart, 2),
         _made_row("mystery-00000000", "mystery", "ocr", HOSTILE, 1),
         _made_row("latex-table-00000000", "latex-table", "format", BOOKTABS, 1)],
    ]
    for n, rows in enumerate(groups):
        with ShardWriter(root / "shards" / f"part-{n:06d}.parquet") as writer:
            for row in rows:
                writer.write(row)
    return root


@pytest.fixture(scope="module")
def gallery(dataset):
    html = dataset.parent / "gallery" / "view.html"
    html.parent.mkdir()
    result = build_preview(dataset, html, page_size=PAGE_SIZE)
    return result


@pytest.fixture(scope="module")
def rows(dataset) -> dict[str, dict]:
    table = pq.read_table(dataset / "shards").to_pylist()
    return {r["id"]: r for r in table}


@pytest.fixture(scope="module")
def browser_page(gallery):
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})

        def block(route):
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                requests.append(route.request.url)
                route.abort("blockedbyclient")

        context.route("**/*", block)
        page = context.new_page()
        errors: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:"))
                else requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (errors.append("dialog " + d.message), d.dismiss()))
        page.goto(gallery.html.as_uri())
        page.wait_for_selector("body[data-ready='1']")
        yield page, requests, errors
        browser.close()


def _card_ids(page) -> list[str]:
    return page.eval_on_selector_all("#grid .card", "cs => cs.map(c => c.dataset.id)")


def _open(page, sid: str):
    page.click(f"#grid .card[data-id='{sid}']")
    page.wait_for_function("id => !document.getElementById('detail').hidden && "
                           "document.getElementById('detail-id').textContent === id", arg=sid)


def _close(page):
    page.click("#detail-close")
    page.wait_for_selector("#detail", state="hidden")


def test_index_and_files_are_data_next_to_the_html(gallery, rows):
    files = gallery.html.parent / "view_files"
    assert gallery.shown == gallery.total == len(rows) == 15
    index = (files / "index.js").read_text()
    assert "</script" not in index and HOSTILE not in index
    assert len(list((files / "img").iterdir())) == 15 + 1  # the chart has two images
    assert len(list((files / "render").glob("*.svg"))) == 6 + 3  # molecules and scores
    assert '"name":"gallery-set' in index  # no manifest here: the folder's name
    html = gallery.html.read_text()
    assert "view_files/index.js" in html and "http" not in html.replace("http-equiv", "")


def test_grid_pages_and_filters(browser_page, rows):
    page, _, _ = browser_page
    order = list(rows)  # shard order
    assert _card_ids(page) == order[:PAGE_SIZE]
    assert page.text_content("#page-info") == f"page 1 of 4 ({len(rows)} samples)"
    page.click("#next")
    assert _card_ids(page) == order[PAGE_SIZE:2 * PAGE_SIZE]
    page.click("#prev")
    assert _card_ids(page) == order[:PAGE_SIZE]
    page.select_option("#filter-renderer", "music")
    assert _card_ids(page) == [s for s in order if rows[s]["renderer"] == "music"]
    page.select_option("#filter-renderer", "")
    page.select_option("#filter-task", "ocr")
    assert _card_ids(page) == ["mystery-00000000"]
    page.select_option("#filter-task", "")
    # every card shows its sample's prompt and the start of its target, as text
    excerpts = page.eval_on_selector_all("#grid .card .excerpt", "es => es.map(e => e.textContent)")
    assert excerpts == [rows[s]["target"][:160] for s in order[:PAGE_SIZE]]


def test_opened_samples_show_their_image_and_target_drawn_back(browser_page, rows, gallery,
                                                               tmp_path):
    page, _, _ = browser_page
    page.select_option("#filter-renderer", "molecule")
    sid = _card_ids(page)[1]
    _open(page, sid)
    assert page.text_content("#target-raw") == rows[sid]["target"]
    drawn = page.eval_on_selector("#detail-rendered img", "i => [i.naturalWidth, i.src]")
    assert drawn[0] > 0 and drawn[1].endswith(".svg")
    full = page.eval_on_selector("#detail-images img", "i => [i.naturalWidth, i.naturalHeight]")
    assert full == [rows[sid]["width"], rows[sid]["height"]]
    shot = tmp_path / "molecule.png"
    page.screenshot(path=str(shot))
    with Image.open(shot) as image:
        lo, hi = image.convert("L").getextrema()
        assert hi - lo > 100  # a real picture, not a blank page
    _close(page)

    page.select_option("#filter-renderer", "music")
    sid = _card_ids(page)[0]
    _open(page, sid)
    assert page.text_content("#target-raw") == rows[sid]["target"]
    src = page.eval_on_selector("#detail-rendered img", "i => i.naturalWidth > 0 && i.src")
    svg = gallery.html.parent / "view_files" / src.split("view_files/", 1)[1]
    assert "<svg" in svg.read_text()[:2000]
    _close(page)

    page.select_option("#filter-renderer", "latex-formula")
    sid = _card_ids(page)[0]
    _open(page, sid)
    assert page.text_content("#target-raw") == rows[sid]["target"]
    # typeset by mathpix-markdown-it: math as SVG, not the LaTeX source as text
    assert page.eval_on_selector_all("#detail-rendered svg", "s => s.length") >= 1
    assert rows[sid]["target"] not in page.text_content("#detail-rendered")
    _close(page)


def test_charts_and_unknown_renderers_are_shown_as_data(browser_page, rows):
    page, requests, errors = browser_page
    page.select_option("#filter-renderer", "chart-echarts")
    _open(page, "chart-echarts-00000000")
    target = rows["chart-echarts-00000000"]["target"]
    assert page.text_content("#detail-rendered pre") == json.dumps(json.loads(target), indent=2)
    assert page.eval_on_selector_all("#detail-images img", "s => s.length") == 2
    _close(page)
    # a booktabs tabular is typeset as a table (rules drawn as \\hline for mathpix)
    page.select_option("#filter-renderer", "latex-table")
    _open(page, "latex-table-00000000")
    assert page.eval_on_selector_all("#detail-rendered table", "s => s.length") == 1
    shown = page.text_content("#detail-rendered")
    assert "Group" in shown and "rule" not in shown and "tabular" not in shown
    assert page.text_content("#target-raw") == BOOKTABS
    _close(page)
    page.select_option("#filter-renderer", "mystery")
    _open(page, "mystery-00000000")
    assert page.text_content("#detail-rendered pre") == HOSTILE
    assert page.text_content("#target-raw") == HOSTILE
    assert page.evaluate("window.pwned === undefined")
    assert page.eval_on_selector_all("img[src='x']", "s => s.length") == 0
    _close(page)
    assert errors == []
    assert requests == []  # nothing but local files was ever asked for


def test_target_kinds():
    assert target_kind("latex-formula", "format", "x^2", {}) == "math"
    assert target_kind("markdown-page", "format", "x", {"engine": "mathjax"}) == "math"
    assert target_kind("latex-page", "format", "# T", {}) == "markdown"
    assert target_kind("latex-page", "ocr", "plain", {}) == "text"
    assert target_kind("chart-mpl", "format", "{}", {}) == "json"
    assert target_kind("someday", "format", '{"a": 1}', {}) == "json"
    assert target_kind("someday", "format", "{not json", {}) == "text"
    assert target_kind("music", "format", "**kern", {}) == "kern"
    assert target_kind("molecule", "format", "CCO", {}) == "smiles"
    assert target_kind("tikz", "format", "\\draw", {}) == "code"
