"""Peak memory of a block of code: CUDA's allocator statistics, or the process's RSS on CPU.

On CPU the kernel's high-water mark (VmHWM) is reset through /proc/self/clear_refs (Linux
4.0+), so the figure is this block's own peak, not the process's lifetime one; where that
is not possible, `getrusage`'s lifetime maximum is reported and `exact` says so.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import torch

MiB = 1024 * 1024


def _status_kib(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class PeakMemory:
    """`with PeakMemory(device) as m: ...` then m.peak (bytes) and m.start (bytes in use
    when the block began): allocated tensors on CUDA, resident set size on CPU."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.start = 0
        self.peak = 0
        self.exact = True

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
        else:
            self.exact = _reset_hwm()
            self.start = (_status_kib("VmRSS") or 0) * 1024
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak = torch.cuda.max_memory_allocated(self.device)
            return
        hwm = _status_kib("VmHWM") if self.exact else None
        if hwm is None:  # no /proc: the lifetime peak (KiB on Linux, bytes on macOS)
            self.exact = False
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.peak = rss if sys.platform == "darwin" else rss * 1024
        else:
            self.peak = hwm * 1024

    @property
    def added(self) -> int:
        """The peak above what was in use at the start: what the block itself needed."""
        return max(0, self.peak - self.start)

    def text(self) -> str:
        what = "allocated" if self.device.type == "cuda" else "RSS"
        note = "" if self.exact else " (process lifetime peak)"
        return (f"peak {what} {self.peak / MiB:,.0f} MiB, {self.added / MiB:,.0f} MiB above "
                f"the {self.start / MiB:,.0f} MiB before{note}")
