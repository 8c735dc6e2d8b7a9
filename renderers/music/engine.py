"""A warm Verovio toolkit in a child process.

Verovio's Humdrum importer aborts the whole process on some malformed input (a line with
fewer tokens than spines calls abort()), and its error reports go straight to stderr. So
the toolkit lives in a child process: a crash costs the item that caused it and a
restart, and the child's output is captured per item so import errors become reject
reasons. The child is a plain `python -m` process (not multiprocessing) so that it starts
the same way inside a Ray actor as anywhere else.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, BinaryIO

_HEADER = struct.Struct("<I")


@dataclass(frozen=True)
class Engraving:
    ok: bool  # Verovio loaded the document
    svg: str  # the first page
    pages: int
    log: str  # what the importer reported (errors, warnings)


class EngineCrash(RuntimeError):
    """The child died or hung on an item."""


def _write(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks, remaining = [], size
    while remaining:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(fd, remaining)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def serve() -> None:
    """The child's loop: requests on stdin, answers on the original stdout."""
    import verovio

    answers = os.fdopen(os.dup(1), "wb")
    captured = tempfile.TemporaryFile()
    # humlib and verovio print to fd 1 and fd 2; both go to the per-item capture
    os.dup2(captured.fileno(), 1)
    os.dup2(captured.fileno(), 2)
    verovio.enableLog(verovio.LOG_WARNING)
    toolkit = verovio.toolkit()
    requests = sys.stdin.buffer.fileno()
    while True:
        try:
            (size,) = _HEADER.unpack(_read_exact(requests, _HEADER.size, None))
            data, options = pickle.loads(_read_exact(requests, size, None))
        except EOFError:
            return
        captured.seek(0)
        captured.truncate()
        toolkit.setOptions(options)
        ok = bool(toolkit.loadData(data))
        pages = toolkit.getPageCount() if ok else 0
        svg = toolkit.renderToSVG(1) if ok and pages else ""
        sys.stdout.flush()
        captured.seek(0)
        log = captured.read().decode("utf-8", "replace") + toolkit.getLog()
        # a plain tuple: in the child this module is __main__, so its classes would not unpickle
        _write(answers, (ok, svg, pages, log))


class VerovioProcess:
    """One warm toolkit per renderer; restarted after a crash or a hang."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self.crashes = 0  # children lost to a crash or a hang; the next call starts anew

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "ocr2synth.renderers.music.engine"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )

    def engrave(self, data: str, options: dict[str, Any]) -> Engraving:
        wait = self.timeout_s
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()
            wait += 20  # a fresh child imports verovio first
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            _write(proc.stdin, (data, options))
            deadline = time.monotonic() + wait
            out = proc.stdout.fileno()
            (size,) = _HEADER.unpack(_read_exact(out, _HEADER.size, deadline))
            return Engraving(*pickle.loads(_read_exact(out, size, deadline)))
        except TimeoutError:
            reason = f"no answer within {wait:.0f}s"
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            reason = f"engine died ({type(exc).__name__}, exit {proc.poll()})"
        self.crashes += 1
        self._kill()
        raise EngineCrash(reason)

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=5)
            for stream in (self._proc.stdin, self._proc.stdout):
                if stream is not None:
                    stream.close()
        self._proc = None

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.close()  # EOF: the child returns
                self._proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._kill()

    def __del__(self) -> None:
        self.close()


if __name__ == "__main__":
    serve()
