"""A warm headless Chromium, driven by Playwright, for renderers that draw with HTML and JS.

One `Browser` per renderer (so one per Ray actor). It starts lazily in the thread that first
uses it, because Playwright's sync API is bound to its thread and Ray Data calls a worker
from another thread than the one that built it. It stays warm across batches and restarts
every `restart_every` screenshots, after a crash, after a timeout, or when called from a new thread.

Isolation:
- every request the page makes is aborted (routes) and the context is offline; the page
  itself and its scripts are local files, which are not network requests;
- content reaches the page only as the argument of `page.evaluate(fn, arg)` (by `call`,
  as JSON text that the page parses);
- Chromium must not outlive us: Playwright's driver (a child) and Chromium (its child) are
  recorded at start and killed as a tree on close, on restart and at interpreter exit; the
  driver also quits when our end of its pipe closes (a SIGKILL of this process), and
  Chromium quits when its debugging pipe to the driver closes.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import signal
import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from ocr2synth.renderers.browser.deadline import Deadline
from ocr2synth.renderers.faults import KILL_BROWSER_ENV, should_kill

CHROMIUM = os.environ.get("OCR2SYNTH_CHROMIUM", "/usr/bin/chromium")
# Chromium's headless shell (Debian's chromium-headless-shell): the build that draws a frame
# only when asked to, for `Browser(frame_control=True)`
CHROMIUM_SHELL = os.environ.get("OCR2SYNTH_CHROMIUM_SHELL",
                                "/usr/lib/chromium/chromium-headless-shell")
# frames only on request, and each one laid out, painted and rastered before it is drawn
FRAME_CONTROL_ARGS = ["--enable-begin-frame-control", "--run-all-compositor-stages-before-draw"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--mute-audio",
    "--font-render-hinting=none",
]
def share_dir() -> Path:
    """This environment's data folder (`ocr2synth setup-assets` installs into it)."""
    return Path(sys.prefix) / "share" / "ocr2synth"


# In a clone the npm packages are in assets/ (`make npm-assets`); an installed wheel ships
# only the lock files there, and `ocr2synth setup-assets` installs into share_dir().
_PACKAGE_ASSETS = Path(__file__).resolve().parents[2] / "assets"
LOCK_FILES = (_PACKAGE_ASSETS / "package.json", _PACKAGE_ASSETS / "package-lock.json")


def _assets_dir() -> Path:
    if os.environ.get("OCR2SYNTH_ASSETS"):
        return Path(os.environ["OCR2SYNTH_ASSETS"]) / "node_modules"
    if (_PACKAGE_ASSETS / "node_modules").is_dir():
        return _PACKAGE_ASSETS / "node_modules"
    return share_dir() / "assets" / "node_modules"


ASSETS_DIR = _assets_dir()


# Chromium collects garbage lazily: a warm markdown page's processes grew by about 200 MiB
# (USS) over 2,000 pages, and stay flat with a full collection (about 0.1 s) every 100
# captures
GC_EVERY = 100

# content stays data: the JSON text is parsed in the page, never spliced into script
_CALL_JSON = ("async ([f, a]) => JSON.stringify(await window[f](JSON.parse(a)),"
              " (k, v) => v === undefined ? null : v)")


class BrowserCrash(RuntimeError):
    """The browser died, hung past its deadline, or the page broke."""


def asset(relative: str) -> Path:
    """A file from the npm assets folder (`make npm-assets`)."""
    path = ASSETS_DIR / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make npm-assets` in a clone, or "
                                "`ocr2synth setup-assets` after installing the wheel")
    return path


def _kill_tree(pids: list[int]) -> None:
    procs = []
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs += [root, *root.children(recursive=True)]
        except psutil.Error:
            pass
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)


_LIVE: weakref.WeakSet[Browser] = weakref.WeakSet()


@atexit.register
def _kill_all() -> None:
    for browser in list(_LIVE):
        _kill_tree(browser.pids + ([browser._driver.pid] if browser._driver else []))


class _Driver:
    """Playwright's driver, one per thread (its sync API allows one per thread), shared by
    the browsers of that thread."""

    _local = threading.local()

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        me = psutil.Process()
        before = {p.pid for p in me.children()}
        self.pw = sync_playwright().start()
        self.pid = next(p.pid for p in me.children() if p.pid not in before)
        self.users = 0

    @classmethod
    def acquire(cls) -> _Driver:
        driver = getattr(cls._local, "driver", None)
        if driver is None:
            driver = cls._local.driver = cls()
        driver.users += 1
        return driver

    def release(self, same_thread: bool) -> None:
        self.users -= 1
        if self.users > 0:
            return
        if same_thread:
            try:
                self.pw.stop()
            except Exception:  # noqa: BLE001 - the driver may be gone already
                pass
            if getattr(self._local, "driver", None) is self:
                self._local.driver = None
        _kill_tree([self.pid])


@dataclass
class BrowserStats:
    starts: int = 0
    crashes: int = 0
    timeouts: int = 0
    # what the page tried to fetch (each refused by the page's policy or aborted by a route)
    blocked: list[str] = field(default_factory=list)


class Browser:
    """A warm page loaded from `html` (a local file), with `evaluate(script, arg)`.

    With `frame_control`, the page is a headless-shell target that draws a frame only when a
    capture asks for one (CDP's HeadlessExperimental.beginFrame), and a capture is that one
    frame of the whole viewport. Otherwise Chromium draws after every change to the page,
    up to 60 times a second, and a capture draws one more frame: with the software
    compositor a frame of two 1024 px pages costs about 14 ms, and a markdown page's layout
    calls caused about three frames per capture. Output is the same either way (a test
    checks); animated content (rAF) needs the free-running mode."""

    def __init__(self, html: Path, viewport: tuple[int, int] = (1024, 1400),
                 restart_every: int = 2000, timeout_s: float = 30.0, tag: str = "",
                 frame_control: bool = False) -> None:
        self.html = Path(html)
        self.viewport = viewport
        self.restart_every = restart_every
        self.timeout_s = timeout_s
        self.frame_control = frame_control
        self.stats = BrowserStats()
        # Chromium's environment carries OCR2SYNTH_BROWSER_TAG=tag: the process table then
        # says which job a browser belongs to, even once it is orphaned
        self.tag = tag
        self.pids: list[int] = []  # this browser's Chromium (a child of the driver)
        self._driver: _Driver | None = None
        self._browser = self._context = self._page = self._cdp = None
        self._thread: int | None = None
        self._calls = 0
        self._deadline = Deadline()
        _LIVE.add(self)

    # -- lifecycle --------------------------------------------------------------------------
    def _start(self) -> None:
        self._driver = _Driver.acquire()
        driver = psutil.Process(self._driver.pid)
        before = {p.pid for p in driver.children()}
        launch = {"headless": True, "handle_sigint": True, "handle_sigterm": True,
                  "handle_sighup": True, "env": {**os.environ, "OCR2SYNTH_BROWSER_TAG": self.tag}}
        options = {"viewport": {"width": self.viewport[0], "height": self.viewport[1]},
                   "device_scale_factor": 1, "offline": True, "java_script_enabled": True,
                   "service_workers": "block"}
        if self.frame_control:
            # a target under frame control can only be made by CDP's createTarget, in the
            # browser's default context: a persistent context is that one, seen by Playwright
            context = self._driver.pw.chromium.launch_persistent_context(
                "", executable_path=CHROMIUM_SHELL, args=CHROMIUM_ARGS + FRAME_CONTROL_ARGS,
                **launch, **options)
            self._browser = context.browser
        else:
            self._browser = self._driver.pw.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, **launch)
            context = self._browser.new_context(**options)
        self._context = context
        self.pids = [p.pid for p in driver.children() if p.pid not in before]
        context.route("**/*", self._block)
        if self.frame_control:
            blank = list(context.pages)
            with context.expect_page() as made:
                self._browser.new_browser_cdp_session().send(
                    "Target.createTarget", {"url": "about:blank", "enableBeginFrameControl": True})
            self._page = made.value
            for page in blank:
                page.close()
            self._page.set_viewport_size(options["viewport"])
        else:
            self._page = context.new_page()
        # the page's Content-Security-Policy refuses most fetches before they reach a route
        self._page.on("console", self._console)
        self._page.on("request", self._request)
        self._page.goto(self.html.as_uri(), wait_until="load")
        # CDP's capture with optimizeForSpeed: the same lossless PNG, ~40% faster to make
        self._cdp = context.new_cdp_session(self._page)
        self._thread = threading.get_ident()
        self._calls = 0
        self.stats.starts += 1

    def _block(self, route: Any) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            self.stats.blocked.append(url[:200])
            route.abort("blockedbyclient")

    def _request(self, request: Any) -> None:
        if not request.url.startswith(("file://", "data:")):
            self.stats.blocked.append(request.url[:200])

    def _console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text:
            self.stats.blocked.append(text[:300])

    @property
    def page(self) -> Any:
        """The live page, (re)started as needed; use from one thread at a time."""
        if (self._page is None or self._thread != threading.get_ident()
                or self._calls >= self.restart_every):
            self.close()
            self._start()
        return self._page

    def chromium_pids(self) -> list[int]:
        out = []
        for pid in self.pids:
            try:
                root = psutil.Process(pid)
                out += [p.pid for p in [root, *root.children(recursive=True)]
                        if "chrom" in p.name().lower()]
            except psutil.Error:
                pass
        return out

    def close(self) -> None:
        same_thread = self._thread == threading.get_ident()
        if self._browser is not None and same_thread:
            try:
                (self._context if self.frame_control else self._browser).close()
            except Exception:  # noqa: BLE001 - a dead browser cannot close cleanly
                pass
        _kill_tree(self.pids)
        self.pids = []
        if self._driver is not None:
            self._driver.release(same_thread)
        self._driver = self._browser = self._context = self._page = self._cdp = None
        self._thread = None

    # -- calls ------------------------------------------------------------------------------
    def _guarded(self, what: str, fn: Callable[[], Any]) -> Any:
        """`fn()` under the deadline: a crash or hang kills the browser (the next call starts
        a fresh one) and raises `BrowserCrash` ("timeout: ..." for a hang)."""
        fired = threading.Event()

        def expire() -> None:
            fired.set()
            _kill_tree(self.pids)

        try:
            with self._deadline.armed(self.timeout_s, expire):
                return fn()
        except Exception as exc:
            self.stats.timeouts += fired.is_set()
            self.stats.crashes += not fired.is_set()
            self.close()
            reason = "timeout" if fired.is_set() else what or type(exc).__name__
            raise BrowserCrash(f"{reason}: {str(exc)[:300]}") from exc

    def evaluate(self, script: str, arg: Any) -> Any:
        """`page.evaluate(script, arg)` under a deadline; a crash or hang kills the browser
        (the next call starts a fresh one) and raises `BrowserCrash`."""
        page = self.page
        if should_kill(KILL_BROWSER_ENV, json.dumps(arg, default=str)):
            self._kill_browser()
        return self._guarded("", lambda: page.evaluate(script, arg))

    def call(self, function: str, arg: Any) -> Any:
        """The page's `window[function](arg)` (awaited) under `evaluate`'s deadline, with the
        argument and the result crossing as JSON text. Playwright's own serialization walks
        and validates every nested value in Python (about 10 ms of CPU for a markdown page's
        blocks and boxes); one string costs almost nothing. So the function takes and returns
        plain JSON data: undefined comes back as null, and an argument that JSON cannot
        carry (NaN, infinities) takes the serialized path."""
        try:
            text = json.dumps(arg, allow_nan=False, ensure_ascii=False)
        except ValueError:
            return self.evaluate(f"a => window[{json.dumps(function)}](a)", arg)
        return json.loads(self.evaluate(_CALL_JSON, [function, text]))

    def _kill_browser(self) -> None:
        """The fault hook: kill -9 Chromium's browser process, as a crash would."""
        procs = []
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
                procs.append(psutil.Process(pid))
            except (ProcessLookupError, psutil.Error):
                pass
        psutil.wait_procs(procs, timeout=5)

    def fit_viewport(self, width: int, height: int) -> None:
        """Make the viewport exactly `width` x `height`. Every frame composites (and every
        capture reads back) the whole viewport, so one no larger than the image is cheaper;
        for content of a fixed size at the top left, which a resize does not move."""
        page = self.page
        view = page.viewport_size
        if view["width"] != width or view["height"] != height:
            self._guarded("viewport", lambda: page.set_viewport_size(
                {"width": width, "height": height}))

    def screenshot(self, width: int, height: int, images: int = 1) -> bytes:
        """A PNG of the viewport's top-left `width` x `height` pixels, holding `images`
        images (a renderer may crop several out of one capture)."""
        if self.frame_control:
            self.fit_viewport(width, height)  # a frame has no clip: it is the viewport
        page = self.page
        before = self._calls
        # restart_every counts images: a page may take several evaluates, a capture
        # several images
        self._calls += images
        png = self._frame() if self.frame_control else self._clip(page, width, height)
        if self._calls // GC_EVERY != before // GC_EVERY:
            self._guarded("garbage collection",
                          lambda: self._cdp.send("HeapProfiler.collectGarbage"))
        return png

    def _clip(self, page: Any, width: int, height: int) -> bytes:
        # the viewport only grows here: resizing it costs a layout, and the clip picks the
        # area (a renderer whose content has a fixed size calls fit_viewport first)
        view = page.viewport_size
        if view["width"] < width or view["height"] < height:
            self._guarded("viewport", lambda: page.set_viewport_size(
                {"width": max(view["width"], width), "height": max(view["height"], height)}))
        # under the deadline too: a capture waits for a frame, and a stuck compositor
        # would otherwise hold the job forever
        shot = self._guarded("screenshot", lambda: self._cdp.send("Page.captureScreenshot", {
            "format": "png", "optimizeForSpeed": True, "captureBeyondViewport": False,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}))
        return base64.b64decode(shot["data"])

    def _frame(self) -> bytes:
        """Under frame control: one frame of the viewport, drawn now. The first frame after
        a start can come without its image; it is asked for again."""
        for _ in range(3):
            shot = self._guarded("screenshot", lambda: self._cdp.send(
                "HeadlessExperimental.beginFrame",
                {"screenshot": {"format": "png", "optimizeForSpeed": True}}))
            if "screenshotData" in shot:
                return base64.b64decode(shot["screenshotData"])
        self.close()
        raise BrowserCrash("screenshot: three frames in a row came without an image")

    def __del__(self) -> None:
        if self.pids:
            _kill_tree(self.pids)
