"""Fault injection for the hardening tests, and where engines keep their temp folders.

An engine whose work holds a marker named in the environment kills its own child process
with SIGKILL, as the OOM killer or a crashing engine would. The value of a fault variable is
`MARKER` (kill every time) or `MARKER:N:DIR` (kill at most N times in all, counted by token
files claimed in DIR, so the count holds across processes and actor restarts). The runner
forwards `OCR2SYNTH_*` variables to its actors, so a test sets them in the driver.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

KILL_TEX_ENV = "OCR2SYNTH_TEST_KILL_TEX"
KILL_BROWSER_ENV = "OCR2SYNTH_TEST_KILL_BROWSER"
# Engines make their temp folders here (default: the system's temp folder), so a job's
# leftovers can be counted, and its processes found by their command lines.
SCRATCH_ENV = "OCR2SYNTH_TMPDIR"


def scratch_root() -> Path:
    root = os.environ.get(SCRATCH_ENV)
    if root:
        Path(root).mkdir(parents=True, exist_ok=True)
        return Path(root)
    return Path(tempfile.gettempdir())


def make_scratch_dir(prefix: str) -> Path:
    """A fresh temp folder named after this process, `PREFIX<pid>-<random>`, so that
    `remove_orphans` can tell when its owner is gone."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=scratch_root()))


def remove_orphans(prefix: str) -> None:
    """Remove the temp folders of engines whose process died without closing them (a
    killed worker), so that a long job on a shared node does not fill the disk."""
    for root in scratch_root().glob(f"{prefix}*-*"):
        pid = root.name[len(prefix):].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(root, ignore_errors=True)
        except PermissionError:
            pass  # another user's live process


def should_kill(env_name: str, text: str) -> bool:
    """Whether the fault named by `env_name` fires for work holding `text`."""
    spec = os.environ.get(env_name)
    if not spec:
        return False
    marker, _, budget = spec.partition(":")
    if not marker or marker not in text:
        return False
    if not budget:
        return True
    count, _, folder = budget.partition(":")
    Path(folder).mkdir(parents=True, exist_ok=True)
    for n in range(int(count)):
        try:
            os.close(os.open(Path(folder) / f"kill-{n}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return True
        except FileExistsError:
            continue
    return False
