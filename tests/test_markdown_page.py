"""markdown-page: truthful targets, no overflow, DOM boxes, blocked network, hostile files,
browser crash and restart, no orphaned Chromium, formula mode, and a run through Ray."""

from __future__ import annotations

import http.server
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import psutil
import pytest
from ocr2synth.renderers.base import Item, Reject, Sample
from ocr2synth.renderers.browser.markdown_source import GeneratedMarkdown, MarkdownFiles

CJK = r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]"


def words(text: str) -> list[str]:
    return re.findall(CJK + r"|[^\W_]+", text)


def target_words(target: str) -> list[str]:
    """The words a reader sees for a target: math, footnote marks, markdown and tabular
    syntax removed."""
    text = re.sub(r"\\\[.*?\\\]|\\\(.*?\\\)|\$[^$]*\$", " ", target, flags=re.S)
    text = re.sub(r"\[\^\d+\]:?", " ", text)
    text = re.sub(r"\\(?:begin|end)\{\w+\}(?:\{[^}]*\})?", " ", text)
    text = re.sub(r"\\(?:multicolumn|multirow)\{[^}]*\}\{[^}]*\}", " ", text)
    text = re.sub(r"\\cline\{[^}]*\}|\\[A-Za-z]+", " ", text)
    return words(text)


def f1(a: list[str], b: list[str]) -> float:
    common = sum((Counter(a) & Counter(b)).values())
    if not common:
        return 0.0
    precision, recall = common / len(a), common / len(b)
    return 2 * precision * recall / (precision + recall)


@pytest.fixture(scope="module")
def renderer():
    from ocr2synth.renderers.browser.markdown_page import MarkdownPageRenderer

    r = MarkdownPageRenderer({"page_text": True}, timeout_s=20)
    yield r
    r.close()


def _seed(k: int) -> int:
    return 7000 + k


@pytest.fixture(scope="module")
def pages(renderer):
    """Four documents of four pages each (zh_share picks one Chinese among these seeds)."""
    source = GeneratedMarkdown(zh_share=0.3, pages=4)
    items = [source.item_at(k, _seed) for k in range(16)]
    return items, renderer.render_batch(items)


def test_generated_pages_are_truthful_full_and_never_cut(pages):
    items, out = pages
    samples = [s for s in out if isinstance(s, Sample)]
    assert len(samples) >= 15, [r for r in out if isinstance(r, Reject)]
    langs = {s.meta["lang"] for s in samples}
    assert langs == {"en", "zh"}
    cut = 0
    for sample in samples:
        seen = [w for text in sample.meta["page_text"] for w in words(text)]
        score = f1(seen, target_words(sample.target))
        assert score >= 0.98, (score, sample.target[:300])
        # math renders as math: no delimiters in the page's text
        assert "\\(" not in " ".join(sample.meta["page_text"])
        # nothing is drawn in the bottom margin: no line runs off the text area
        gray = np.asarray(sample.image)
        bottom = sample.meta["height"] - sample.meta["padding"][2]
        assert gray[bottom + 2:].min() > 200, "ink below the text area"
        assert max(b.y1 for b in sample.boxes) <= bottom + 1
        cut += sample.meta["blocks_left"] > 0
    # the documents are longer than their pages: every page is cut at a block boundary
    assert cut == len(samples)


def test_targets_hold_exactly_the_visible_blocks_in_order(pages):
    items, out = pages
    for item, sample in zip(items, out, strict=True):
        if not isinstance(sample, Sample):
            continue
        shown = sample.meta["blocks"]
        assert shown == sorted(shown)
        blocks = item.content["blocks"]
        # the first block after the page must not be in the target
        after = blocks[shown[-1] + 1]["md"]
        assert after not in sample.target or len(after) < 30
        for index in shown:
            assert blocks[index]["md"] in sample.target


def test_what_does_not_fit_on_a_page_starts_the_next_one(pages):
    items, out = pages
    assert all(isinstance(o, Sample) for o in out), out
    assert [item.content["page"] for item in items] == [0, 1, 2, 3] * 4
    for first in range(0, 16, 4):
        doc = [o.meta for o in out[first:first + 4]]
        assert doc[0]["blocks"][0] == 0
        # each page shows the blocks after the previous page's, none lost in between
        shown = [i for meta in doc for i in meta["blocks"]]
        dropped = {int(i) for meta in doc for i in meta["dropped"]}
        assert sorted(set(shown) | dropped) == list(range(shown[-1] + 1))
        assert len(shown) == len(set(shown))
        # one document, one look: every page has its document's style
        assert len({(m["width"], m["font"], m["size"], m["columns"]) for m in doc}) == 1


def test_a_page_renders_the_same_without_its_predecessors(pages):
    """A shard may start mid-document: page 2 alone equals page 2 rendered after 0 and 1."""
    from ocr2synth.renderers.browser.markdown_page import MarkdownPageRenderer
    from ocr2synth.renderers.imaging import encode_image

    items, out = pages
    fresh = MarkdownPageRenderer({"page_text": True}, timeout_s=20)
    try:
        alone = fresh.render_batch([items[6]])[0]
    finally:
        fresh.close()
    assert isinstance(alone, Sample)
    assert alone.target == out[6].target and alone.meta["blocks"] == out[6].meta["blocks"]
    assert encode_image(alone.image, "png", 1, "auto") == encode_image(out[6].image, "png", 1,
                                                                         "auto")


def test_a_page_is_the_same_in_either_slot_of_a_shared_capture(pages):
    """Pages are laid out side by side and taken two per capture: a page's image, target
    and boxes depend neither on its slot nor on the page beside it."""
    from ocr2synth.renderers.browser.markdown_page import MarkdownPageRenderer
    from ocr2synth.renderers.imaging import encode_image

    items, out = pages  # that batch put item 3 in slot 1 (by 2) and item 4 in slot 0 (by 5)
    fresh = MarkdownPageRenderer({"page_text": True}, timeout_s=20)
    try:
        assert fresh.per_capture == 2
        moved = fresh.render_batch([items[3], items[4]])  # 3 in slot 0, 4 in slot 1
    finally:
        fresh.close()
    for before, after in zip([out[3], out[4]], moved, strict=True):
        assert isinstance(after, Sample)
        assert after.target == before.target and after.boxes == before.boxes
        assert after.image.size == (after.meta["width"], after.meta["height"])
        assert encode_image(after.image, "png", 1, "auto") == encode_image(before.image, "png",
                                                                           1, "auto")


def test_frame_control_and_joint_rendering_draw_the_same_pages_as_the_plain_way(renderer,
                                                                              pages):
    """Two speed-ups must not change a pixel: under frame control (the default) the
    headless shell draws only the captured frame, and a generated document's blocks are
    rendered by mathpix-markdown-it in one call and split. The plain way: a free-running
    Chromium that draws after every layout call, and one render call per block."""
    from ocr2synth.renderers.browser.markdown_page import MarkdownPageRenderer
    from ocr2synth.renderers.imaging import encode_image

    assert renderer.browser.frame_control
    assert any("headless" in psutil.Process(pid).name()
               for pid in renderer.browser.chromium_pids())
    items, out = pages
    assert all(item.content["blocks_standalone"] for item in items)
    plain_items = [Item(k=item.k, seed=item.seed, meta=item.meta,
                        content={**item.content, "blocks_standalone": False})
                   for item in items[:4]]
    plain = MarkdownPageRenderer({"page_text": True, "frame_control": False}, timeout_s=20)
    try:
        again = plain.render_batch(plain_items)
        assert all("headless" not in psutil.Process(pid).name()
                   for pid in plain.browser.chromium_pids())
    finally:
        plain.close()
    for before, after in zip(out[:4], again, strict=True):
        assert isinstance(after, Sample)
        assert after.target == before.target and after.boxes == before.boxes
        assert encode_image(after.image, "png", 1, "auto") == encode_image(before.image, "png",
                                                                           1, "auto")


def test_boxes_are_block_then_line_boxes_in_image_pixels(pages):
    _, out = pages
    sample = next(s for s in out if isinstance(s, Sample) and s.meta["lang"] == "en")
    width, height = sample.image.size
    paragraphs = sample.boxes[:sample.meta["paragraph_boxes"]]
    lines = sample.boxes[sample.meta["paragraph_boxes"]:]
    assert len(lines) > len(paragraphs) >= 3
    for box in sample.boxes:
        assert 0 <= box.x0 < box.x1 <= width and 0 <= box.y0 < box.y1 <= height
    # a line box is about one line high and has ink inside it
    gray = np.asarray(sample.image)
    for line in lines[:20]:
        assert line.y1 - line.y0 < 4 * sample.meta["size"] * sample.meta["lineHeight"]
        assert gray[int(line.y0):int(line.y1) + 1, int(line.x0):int(line.x1) + 1].min() < 128
    # every word of the lines is in the target
    target = set(target_words(sample.target))
    line_words = [w for line in lines for w in words(line.text)]
    assert sum(w in target for w in line_words) >= 0.98 * len(line_words)


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Counting.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def web_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Counting.hits.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_no_request_leaves_the_browser_even_for_unsanitized_markdown(renderer, web_server):
    doc = {"lang": "en", "notes": [], "blocks": [
        {"kind": "para", "md": f"Picture ![x]({web_server}/img.png) here and a "
                               f"[link]({web_server}/page) too."},
        {"kind": "para", "md": "The rest of the page renders from local assets."}]}
    out = renderer.render_batch([Item(0, 1, doc), Item(1, 2, doc)])
    assert isinstance(out[0], Sample), out
    # refused by the page's policy or aborted by the route: either way, seen and stopped
    assert any(web_server in url for url in renderer.browser.stats.blocked)
    time.sleep(0.3)
    assert _Counting.hits == []


def test_hostile_files_are_sanitized_or_rejected_and_the_job_finishes(renderer, web_server,
                                                                      tmp_path):
    (tmp_path / "a.md").write_text(
        f"# Title\n\n<script>fetch('{web_server}/s')</script>Safe words here.\n\n"
        f"<img src={web_server}/i.png> <iframe src=\"{web_server}/f\"></iframe>\n\n"
        f"A [click](javascript:alert(1)) link and ![p]({web_server}/p.png) picture.\n\n"
        "Math \\(x^2\\) stays.\n")
    (tmp_path / "b.mmd").write_bytes(b"Bad \xff\xfe bytes\n")
    (tmp_path / "c.md").write_text("word " * (1 << 20))  # 5 MB
    source = MarkdownFiles(tmp_path)
    items = [source.item(k, k) for k in range(source.size())]
    out = renderer.render_batch(items)
    reasons = {o.reason for o in out if isinstance(o, Reject)}
    assert reasons == {"bad-encoding", "too-long"}
    samples = [o for o in out if isinstance(o, Sample)]
    assert len(samples) == 1
    target = samples[0].target
    for bad in ("<script", "<img", "<iframe", "javascript:", "http"):
        assert bad not in target
    assert "Safe words here." in target and "\\(x^2\\)" in target
    time.sleep(0.3)
    assert _Counting.hits == []


def test_source_files_are_paginated_with_nothing_lost(renderer, tmp_path):
    paragraphs = [f"Paragraph {i}" + " text" * 80 for i in range(30)]
    (tmp_path / "long.md").write_text("\n\n".join(paragraphs) + "\n\n\\[\na\n\nb\n\\]\n")
    source = MarkdownFiles(tmp_path, page_chars=2000)
    assert source.size() > 5
    blocks = source.item(0, 0).content["blocks"]
    assert [b["md"] for b in blocks][:30] == paragraphs
    assert blocks[-1] == {"kind": "display", "md": "\\[\na\n\nb\n\\]"}
    out = renderer.render_batch([source.item_at(k, _seed) for k in range(source.size())])
    samples = [o for o in out if isinstance(o, Sample)]
    # pages in order, each block on exactly one page, through to the end of the file
    shown = [i for s in samples for i in s.meta["blocks"]]
    assert shown == list(range(len(blocks)))
    assert all(paragraph in "".join(s.target for s in samples) for paragraph in paragraphs)
    # the estimate asked for more pages than the file needs: those say so
    assert {o.reason for o in out if isinstance(o, Reject)} <= {"document-ended"}


def test_a_killed_browser_is_restarted_and_the_batch_completes(renderer):
    source = GeneratedMarkdown()
    renderer.render_batch([source.item(1, 0)])
    starts = renderer.browser.stats.starts
    old = renderer.browser.chromium_pids()
    assert old
    for pid in old:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    out = renderer.render_batch([source.item(10 + k, k) for k in range(3)])
    assert all(isinstance(o, Sample) for o in out), out
    assert renderer.browser.stats.starts == starts + 1
    assert not set(old) & set(renderer.browser.chromium_pids())


def _tagged(tag: str) -> list[int]:
    found = []
    for proc in psutil.process_iter(["name"]):
        try:
            if "chrom" in (proc.info["name"] or "") and \
                    proc.environ().get("OCR2SYNTH_BROWSER_TAG") == tag:
                found.append(proc.pid)
        except psutil.Error:
            pass
    return found


def _wait_gone(tag: str, seconds: float = 20) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := _tagged(tag)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


_CHILD = """
import sys, time
from ocr2synth.renderers.browser.markdown_page import MarkdownPageRenderer
from ocr2synth.renderers.browser.markdown_source import GeneratedMarkdown
r = MarkdownPageRenderer({"tag": sys.argv[1]}, 20)
r.render_batch([GeneratedMarkdown().item(3, 0)])
print(" ".join(map(str, r.browser.chromium_pids())), flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_chromium_dies_with_its_process(sig, tmp_path, monkeypatch):
    from ocr2synth.renderers.browser.markdown_page import MarkdownPageRenderer
    from ocr2synth.renderers.faults import SCRATCH_ENV

    tag = uuid.uuid4().hex
    monkeypatch.setenv(SCRATCH_ENV, str(tmp_path))
    # Ctrl-C's default meaning, whatever the test runner inherited (a shell's background
    # job starts with SIGINT ignored, and the child would never see it)
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, tag], stdout=subprocess.PIPE,
                            text=True, cwd=Path(__file__).parents[1],
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert pids, "no browser started"
        # the browser is the renderer's: its parent chain leads to the child process
        for pid in pids:
            assert proc.pid in [p.pid for p in psutil.Process(pid).parents()]
        # the browser process itself carries the tag (its zygote and renderers may not)
        assert set(pids) & set(_tagged(tag))
        proc.send_signal(sig)
        proc.wait(timeout=60)  # exit handlers close the browser; slow on a loaded machine
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _wait_gone(tag) == []
    # its zygote and renderers notice the browser's death a moment later (on a busy
    # machine, after the check above)
    deadline = time.monotonic() + 20
    while (alive := [pid for pid in pids if _alive_chromium(pid)]) and \
            time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive == []
    # a killed process leaves its page folder behind; the next renderer removes it
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith("ocr2synth-browser-")]
    assert len(left) == (1 if sig == signal.SIGKILL else 0)
    MarkdownPageRenderer({}, 5).close()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("ocr2synth-")] == []


def _alive_chromium(pid: int) -> bool:
    try:
        proc = psutil.Process(pid)
        return "chrom" in proc.name() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_formula_mode_renders_latex_through_mathjax():
    from ocr2synth.renderers.browser.markdown_page import MarkdownPageRenderer

    r = MarkdownPageRenderer({"mode": "formula"}, timeout_s=20)
    try:
        good = ["\\frac{a}{b} + \\sqrt{x^2}", "\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}"]
        out = r.render_batch([Item(k, k, tex) for k, tex in enumerate(good)]
                             + [Item(9, 9, "\\frac{a}{b")])
        assert [o.target for o in out[:2]] == good
        small, large = out[0].image.size, out[1].image.size
        assert small[0] > 30 and small[1] > 20 and large[0] > small[0]
        assert isinstance(out[2], Reject) and out[2].reason == "mathjax-error"
    finally:
        r.close()


def test_renders_through_ray_and_leaves_no_browser_behind(ray_address, tmp_path):
    import pyarrow.parquet as pq
    from ocr2synth.pipelines.core.recipe import parse_recipe
    from ocr2synth.pipelines.core.runner import run_recipe

    tag = uuid.uuid4().hex
    raw = {"name": "mp", "seed": 3, "shard_size": 4,
           "entries": [{"renderer": "markdown-page", "count": 4, "params": {"tag": tag}}]}
    run_recipe(parse_recipe(raw, Path.cwd(), {"markdown-page"}), tmp_path, workers=1,
               progress=False)
    rows = [r for p in sorted((tmp_path / "shards").glob("*.parquet"))
            for r in pq.read_table(p).to_pylist()]
    assert len(rows) == 4 and all(r["task"] == "format" for r in rows)
    assert _wait_gone(tag) == []


class _Listener:
    """A bare TCP listener on loopback that records every connection it accepts. A last
    connection from the test itself marks the end: the accept queue is in order, so any
    connection the browser had made would be accepted before it."""

    def __init__(self) -> None:
        import socket

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.seen: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(2)
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b""
                self.seen.append(data)
                if data.startswith(b"END"):
                    return

    def finish(self) -> list[bytes]:
        import socket

        with socket.create_connection(("127.0.0.1", self.port)) as conn:
            conn.sendall(b"END")
        self.thread.join(timeout=10)
        self.sock.close()
        return [d for d in self.seen if not d.startswith(b"END")]


def test_the_browser_makes_no_request_by_any_route(renderer):
    listener = _Listener()
    url = f"http://127.0.0.1:{listener.port}"
    tries = [
        f"![img]({url}/img.png)",
        f"<img src=\"{url}/raw.png\"> <img srcset=\"{url}/set.png 2x\">",
        f"<div style=\"background-image: url('{url}/css.png')\">styled</div>",
        f"<style>@import url('{url}/import.css'); p {{ background: url({url}/bg.png) }}</style>",
        f"<link rel=\"stylesheet\" href=\"{url}/sheet.css\">"
        f"<link rel=\"prefetch\" href=\"{url}/p\">",
        f"<iframe src=\"{url}/frame\"></iframe> <object data=\"{url}/obj\"></object>",
        f"<script>fetch('{url}/fetch'); new Image().src = '{url}/js.png';</script>",
        f"<img src=x onerror=\"fetch('{url}/onerror')\">",
        f"<video poster=\"{url}/poster.png\" src=\"{url}/v.mp4\"></video>",
        f"<form action=\"{url}/form\"><input type=image src=\"{url}/in.png\"></form>",
        f"\\(\\href{{{url}/math}}{{x}}\\) [link]({url}/link)",
    ]
    doc = {"lang": "en", "notes": [], "blocks": [
        {"kind": "para", "md": f"Words before. {t} Words after."} for t in tries]}
    out = renderer.render_batch([Item(0, 5, doc)])
    assert len(out) == 1 and isinstance(out[0], Sample | Reject)
    assert listener.finish() == []
    # the page did try: the engine saw the attempts it refused
    assert any(str(listener.port) in u for u in renderer.browser.stats.blocked)


def test_a_heading_is_never_left_last_on_a_page_whose_document_goes_on(pages):
    """Headings keep with what follows them: a page never ends in a heading while the
    rest of its document comes on the next page."""
    items, out = pages
    ends = 0
    for item, sample in zip(items, out, strict=True):
        if not isinstance(sample, Sample) or not sample.meta["blocks_left"]:
            continue
        ends += 1
        last = item.content["blocks"][sample.meta["blocks"][-1]]
        assert last["kind"] != "heading", (sample.meta["page"], last["md"])
    assert ends >= 8
