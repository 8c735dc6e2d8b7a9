"""A warm, batched, sandboxed pdfLaTeX engine.

Many items are typeset in one run, one page each (or, with `multipage`, any number of
whole pages each: an item's pages are counted from the pages shipped out). Each item is
bracketed by markers on the terminal, so an error, a fatal stop or a time-out is pinned on
the item that caused it; that item is rejected and the others are typeset again without it.
The preamble is compiled once into a format file per engine, which takes most of TeX's
start-up cost away.

TeX killed from outside (kill -9, the OOM killer) mid-run is run again; an item inside
which it dies twice is rejected as `poison`.

Sandbox: no shell escape, `openin_any=p`/`openout_any=p` (no absolute paths, no parent
folders), a fresh temporary folder per batch as the working directory, and a time limit
after which the whole process group is killed.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf
from ocr2synth.renderers.base import RenderError
from ocr2synth.renderers.faults import KILL_TEX_ENV, make_scratch_dir, remove_orphans, should_kill

_PR_SET_PDEATHSIG = 1  # prctl(2)

_MARK = "@@OCR2SYNTH"
# Begin/End of item N; with `multipage`, an End also carries the pages shipped so far.
_MARK_RE = re.compile(rf"^{_MARK} ([BE]) (\d+)(?: (\d+))?$")
# Seconds each honest item may add to a batch's time limit (typesetting takes ~2 ms).
_PER_ITEM_SLACK_S = 0.25
# TeX killed from outside (OOM killer, kill -9) is run again; an item inside which it dies
# this many times is rejected as poison, so a batch costs at most this many runs per item.
_MAX_KILLS = 2


def sandbox_env(workdir: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "openin_any": "p",
        "openout_any": "p",
        "shell_escape": "f",
        "TEXMFOUTPUT": str(workdir),
        "TEXMFVAR": str(workdir / ".texmf-var"),
        # One marker per line in the terminal output, however long the line.
        "max_print_line": "100000",
        "error_line": "254",
        "half_error_line": "238",
    }
    return env


def tex_available() -> bool:
    return shutil.which("pdflatex") is not None and shutil.which("pdftex") is not None


@dataclass
class TexBatch:
    """The outcome of typesetting a batch: an open PDF and, per item, a page or a reason."""

    pdf: pymupdf.Document | None
    # item -> its (first) page; with `multipage`, `page_ranges` holds all of its pages
    pages: dict[int, int] = field(default_factory=dict)
    page_ranges: dict[int, range] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)
    runs: int = 0


def _first_error(lines: list[str]) -> str:
    for line in lines:
        if line.startswith("! "):
            return line[2:].strip()
    return ""


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # gone already


@dataclass(frozen=True)
class _Killed:
    """TeX died of a signal it did not get from us, inside this item (None: before any)."""

    inside: int | None


_ROOT_PREFIX = "ocr2synth-tex-"


class TexEngine:
    """Keeps format files warm across batches; one engine per renderer instance."""

    def __init__(self, timeout_s: float) -> None:
        if not tex_available():
            raise RenderError("pdflatex not found: run `make setup` to install TeX Live")
        self.timeout_s = timeout_s
        remove_orphans(_ROOT_PREFIX)
        self.root = make_scratch_dir(_ROOT_PREFIX)
        self._formats: dict[str, Path] = {}

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def _format(self, preamble: str) -> Path:
        key = hashlib.sha256(preamble.encode()).hexdigest()[:16]
        fmt = self._formats.get(key)
        if fmt is not None:
            return fmt
        fmt_dir = self.root / "formats"
        fmt_dir.mkdir(exist_ok=True)
        source = fmt_dir / f"f{key}.tex"
        source.write_text(preamble + "\n\\dump\n", encoding="utf-8")
        output, timed_out, _ = self._run(
            ["pdftex", "-ini", "-interaction=nonstopmode", f"-jobname=f{key}", "&pdflatex",
             source.name],
            fmt_dir,
            timeout=max(60.0, self.timeout_s),
        )
        fmt = fmt_dir / f"f{key}.fmt"
        if timed_out or not fmt.exists():
            reason = "timed out" if timed_out else _first_error(output.splitlines())
            raise RenderError(f"TeX format build failed: {reason or 'no format written'}")
        self._formats[key] = fmt
        return fmt

    @staticmethod
    def _tied_to_parent(cpu_seconds: int) -> Callable[[], None]:
        """Set up in the TeX child before exec: it gets SIGKILL when the thread that started
        it dies (the deadline lives in that thread: a killed worker must not leave TeX
        looping forever), and never runs more than `cpu_seconds` of CPU in any case."""
        parent = os.getpid()
        libc = ctypes.CDLL(None)  # loaded here: the child only calls it

        def setup() -> None:
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent:  # the parent died before the line above
                os._exit(1)
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))

        return setup

    def _run(self, cmd: list[str], cwd: Path, timeout: float, kill_at: str | None = None
             ) -> tuple[str, bool, bool]:
        """Run a TeX command in `cwd`: its terminal output, whether it timed out, and
        whether something else killed it. `kill_at` (fault injection): a terminal line on
        which TeX is killed with SIGKILL."""
        # stdbuf: line-buffered output, so the markers seen when a run is killed are current.
        proc = subprocess.Popen(
            ["stdbuf", "-oL", *cmd],
            cwd=cwd,
            env=sandbox_env(cwd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=self._tied_to_parent(int(timeout) + 30),
        )
        expired = threading.Event()
        try:
            if kill_at is not None:
                out = self._read_killing_at(proc, kill_at.encode(), timeout, expired)
            else:
                out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            expired.set()
            _kill_group(proc.pid)
            out, _ = proc.communicate()
        except BaseException:
            _kill_group(proc.pid)
            proc.wait()
            raise
        text = out.decode("utf-8", "replace")
        killed = not expired.is_set() and proc.returncode is not None and proc.returncode < 0
        return text, expired.is_set(), killed

    @staticmethod
    def _read_killing_at(proc: subprocess.Popen, line: bytes, timeout: float,
                         expired: threading.Event) -> bytes:
        """All of TeX's output; TeX is killed (SIGKILL) when it prints `line`."""
        def expire() -> None:
            expired.set()
            _kill_group(proc.pid)

        timer = threading.Timer(timeout, expire)
        timer.start()
        try:
            out = []
            for raw in proc.stdout:
                out.append(raw)
                if raw.rstrip(b"\r\n") == line:
                    proc.send_signal(signal.SIGKILL)
            proc.wait()
        finally:
            timer.cancel()
        return b"".join(out)

    @staticmethod
    def _document(bodies: dict[int, str], multipage: bool = False) -> str:
        parts = ["\\begin{document}"]
        for index, body in bodies.items():
            parts.append(f"\\typeout{{{_MARK} B {index}}}%")
            parts.append(f"{body}%")
            if multipage:
                # \clearpage ships the item's last page (and its floats) before the count.
                parts.append(f"\\clearpage\\typeout{{{_MARK} E {index} "
                             "\\the\\ReadonlyShipoutCounter}%")
            else:
                parts.append(f"\\typeout{{{_MARK} E {index}}}%")
        parts.append("\\end{document}")
        return "\n".join(parts) + "\n"

    @contextmanager
    def typeset(self, preamble: str, bodies: list[str], multipage: bool = False
                ) -> Iterator[TexBatch]:
        """Typeset `bodies` (one page each) after `preamble`; yields the batch outcome.

        With `multipage`, a body may fill any number of pages: each item starts on a fresh
        page, and `page_ranges` says which pages are its own. An item that ships no page
        is a failure. The PDF stays open, and its folder exists, only inside the `with`.
        """
        fmt = self._format(preamble)
        workdir = Path(tempfile.mkdtemp(prefix="batch-", dir=self.root))
        batch = TexBatch(pdf=None)
        pending = dict(enumerate(bodies))
        kills: Counter[int | None] = Counter()
        try:
            while pending:
                batch.runs += 1
                verdict = self._attempt(fmt, workdir, pending, batch.runs, multipage)
                if isinstance(verdict, _Killed):
                    kills[verdict.inside] += 1
                    if kills[verdict.inside] >= _MAX_KILLS:
                        # killed before any item began, again: blame the first one
                        blame = next(iter(pending)) if verdict.inside is None \
                            else verdict.inside
                        batch.failures[blame] = (f"poison: TeX was killed {_MAX_KILLS} "
                                                 "times typesetting this item")
                        del pending[blame]
                    continue
                if isinstance(verdict, tuple):
                    batch.pdf, batch.page_ranges = verdict
                    batch.pages = {i: pages.start for i, pages in batch.page_ranges.items()}
                    break
                batch.failures.update(verdict)
                for index in verdict:
                    del pending[index]
            yield batch
        finally:
            if batch.pdf is not None:
                batch.pdf.close()
            shutil.rmtree(workdir, ignore_errors=True)

    def _attempt(
        self, fmt: Path, workdir: Path, pending: dict[int, str], run: int, multipage: bool
    ) -> tuple[pymupdf.Document, dict[int, range]] | dict[int, str] | _Killed:
        """One TeX run over `pending`: the PDF and each item's pages if every item typeset
        cleanly, else the items to blame and why. The others are typeset again without
        them, so no page is ever taken from a run in which something went wrong."""
        name = f"run{run}"
        timeout = self.timeout_s + _PER_ITEM_SLACK_S * len(pending)
        doomed = next((i for i, body in pending.items() if should_kill(KILL_TEX_ENV, body)),
                      None)
        if doomed is not None:
            # The fault hook kills TeX as it begins this item; the item spins until then, so
            # TeX cannot finish the batch before the signal lands.
            pending = {**pending, doomed: "\\loop\\iftrue\\repeat " + pending[doomed]}
        (workdir / f"{name}.tex").write_text(self._document(pending, multipage),
                                             encoding="utf-8")
        output, timed_out, killed = self._run(
            ["pdflatex", f"-fmt={fmt.with_suffix('')}", "-interaction=nonstopmode",
             "-no-shell-escape", f"{name}.tex"],
            workdir,
            timeout,
            kill_at=None if doomed is None else f"{_MARK} B {doomed}",
        )
        lines = output.splitlines()
        current: int | None = None  # begun and not yet ended
        last_begun: int | None = None
        done: set[int] = set()
        failures: dict[int, str] = {}
        ranges: dict[int, range] = {}
        shipped = 0
        for line in lines:
            match = _MARK_RE.match(line)
            if match:
                index = int(match.group(2))
                if match.group(1) == "B":
                    current = last_begun = index
                else:
                    done.add(index)
                    current = None
                    if multipage:
                        count = int(match.group(3) or shipped)
                        ranges[index] = range(shipped, count)
                        shipped = count
                        if not ranges[index]:
                            failures.setdefault(index, "blank: the item filled no page")
            elif line.startswith("! "):
                if last_begun is None:
                    # An error before the first item: the document shell itself is broken.
                    raise RenderError(f"TeX failed outside any item: {line[2:].strip()}")
                failures.setdefault(last_begun, f"tex-error: {line[2:].strip()}")
        if killed:
            # Not the item's doing as far as TeX can tell: run the batch again.
            return _Killed(current)
        unfinished = [i for i in pending if i not in done]
        if timed_out or unfinished:
            # The item TeX was inside when it stopped, else the first it never reached.
            blame = current if current is not None else (unfinished or list(pending))[0]
            reason = (f"timeout: TeX ran past {self.timeout_s:.0f}s" if timed_out
                      else "tex-error: TeX stopped inside this item")
            failures.setdefault(blame, reason)
        if failures:
            return failures
        pdf_path = workdir / f"{name}.pdf"
        if not pdf_path.exists():
            raise RenderError(f"TeX produced no PDF: {_first_error(lines) or 'unknown reason'}")
        pdf = pymupdf.open(pdf_path)
        if not multipage:
            ranges = {index: range(page, page + 1) for page, index in enumerate(pending)}
        expected = sum(len(pages) for pages in ranges.values())
        if pdf.page_count != expected:
            pdf.close()
            raise RenderError(f"TeX produced {pdf.page_count} pages for {len(pending)} items"
                              f" ({expected} expected)")
        return pdf, ranges
