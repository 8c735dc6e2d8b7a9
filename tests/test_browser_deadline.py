"""The browser's call deadline (renderers/browser/deadline.py): a call that outlives it is
expired once, a call that returns in time never is, and one watchdog thread serves every
call; through a real Chromium, a hung page call becomes a "timeout" BrowserCrash and the
next call gets a fresh browser."""

from __future__ import annotations

import threading
import time

import pytest
from ocr2synth.renderers.browser.deadline import Deadline


def _watchdogs() -> int:
    return sum(t.name == "ocr2synth-deadline" for t in threading.enumerate())


@pytest.mark.unit
def test_a_call_that_outlives_its_deadline_is_expired_once():
    deadline, fired, calls = Deadline(), threading.Event(), []

    def expire() -> None:
        calls.append(time.monotonic())
        fired.set()

    with deadline.armed(0.05, expire):
        assert fired.wait(30)  # the call "hangs" until the watchdog expires it
    assert len(calls) == 1
    # the deadline is gone with its call: a later call is watched afresh
    with deadline.armed(30, expire):
        pass
    assert len(calls) == 1


@pytest.mark.unit
def test_calls_that_return_in_time_are_never_expired_and_share_one_thread():
    deadline, fired = Deadline(), threading.Event()
    before = _watchdogs()
    for _ in range(200):
        with deadline.armed(0.2, fired.set):
            pass
    assert _watchdogs() - before == 1
    # past every deadline those calls had: none of them fires late
    assert not fired.wait(0.6)


@pytest.mark.unit
def test_calls_may_not_overlap():
    deadline = Deadline()
    with deadline.armed(30, lambda: None), pytest.raises(RuntimeError):
        with deadline.armed(30, lambda: None):
            pass


@pytest.mark.engine
def test_a_hung_page_call_times_out_and_the_next_call_gets_a_fresh_browser(tmp_path):
    from ocr2synth.renderers.browser.engine import Browser, BrowserCrash, _kill_tree
    from ocr2synth.renderers.browser.markdown_page import page_html

    browser = Browser(page_html(tmp_path), timeout_s=3)
    # should the deadline never fire, this ends the hung call (as a crash, not a timeout)
    # rather than the test
    backstop = threading.Timer(120, lambda: _kill_tree(browser.pids))
    try:
        assert browser.evaluate("() => 1 + 1", None) == 2
        first = list(browser.pids)
        backstop.start()
        with pytest.raises(BrowserCrash, match="^timeout"):
            browser.evaluate("() => new Promise(() => {})", None)  # never settles
        backstop.cancel()
        assert browser.stats.timeouts == 1 and browser.stats.crashes == 0
        assert browser.evaluate("() => 2 + 2", None) == 4
        assert browser.pids and browser.pids != first and browser.stats.starts == 2
    finally:
        backstop.cancel()
        browser.close()
