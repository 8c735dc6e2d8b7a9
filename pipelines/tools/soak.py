"""The soak run: render a long recipe on N workers and watch for slow leaks.

It runs `ocr2synth render` as a child process with its own local Ray, every engine temp
folder under a fresh scratch folder (OCR2SYNTH_TMPDIR and TMPDIR), and samples the memory
of each render actor (the actor plus its engine processes: TeX, Chromium, Verovio) while it
runs. At the end it reports:

- peak RSS per worker (and PSS with its engine processes) while the first fifth of the
  samples render and while the last fifth do: the soak recipe runs every renderer in each
  fifth, so a growth between the two is a leak;
- leaked processes: anything still alive whose environment leads to the scratch folder;
- leftover temp files: whatever is left in the scratch folder;
- the reject rate and top reason per renderer, from the manifest.

`make soak` runs the full 20,000 samples; `--scale` runs a fraction of it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from ocr2synth.pipelines.format.manifest import load_manifest
from ocr2synth.pipelines.format.verify import verify_dataset
from ocr2synth.renderers.faults import SCRATCH_ENV

ROOT = Path(__file__).resolve().parents[2]  # the repository
RECIPE = ROOT / "pipelines" / "recipes" / "soak.yaml"
_ACTOR_TITLE = "ray::RenderActor"
_EDGE = 0.2
# PyMuPDF writes one `.ses` file into the temp folder when it is imported (the same file
# each time, not one per batch): not a leftover of ours.
_NOT_OURS = {".ses"}  # "start" and "end" are the first and last fifth of the run


@dataclass
class SoakReport:
    command: list[str]
    wall_s: float
    exit_code: int
    verify_ok: bool
    # actor pid -> peak MiB in the first and the last fifth of the samples: the actor's own
    # RSS and the PSS of the actor with its engines (None: the actor was not alive then)
    memory_mib: dict[int, dict[str, float | None]] = field(default_factory=dict)
    leaked_processes: list[str] = field(default_factory=list)
    leftover_temp: list[str] = field(default_factory=list)
    renderers: dict[str, dict[str, object]] = field(default_factory=dict)

    def text(self) -> str:
        lines = [f"soak: exit {self.exit_code}, verify {'ok' if self.verify_ok else 'FAILED'}, "
                 f"{self.wall_s:.0f}s wall",
                 "peak memory per worker, MiB, first fifth of the samples -> last fifth:"]
        for pid, m in sorted(self.memory_mib.items()):
            lines.append(f"  worker pid {pid}: RSS {_mib(m['rss_start'])} -> "
                         f"{_mib(m['rss_end'])}; with its engines (PSS) "
                         f"{_mib(m['pss_start'])} -> {_mib(m['pss_end'])}")
        lines.append(f"leaked processes: {len(self.leaked_processes)}"
                     + "".join(f"\n  {p}" for p in self.leaked_processes))
        lines.append(f"leftover temp files: {len(self.leftover_temp)}"
                     + "".join(f"\n  {p}" for p in self.leftover_temp[:20]))
        lines.append(f"{'renderer':<15} {'rows':>7} {'rejects':>7} {'rate':>7}  top reason")
        for name, stats in sorted(self.renderers.items()):
            lines.append(f"{name:<15} {stats['rows']:>7} {stats['rejects']:>7} "
                         f"{stats['reject_rate']:>7.2%}  {stats['top_reason']}")
        return "\n".join(lines)


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _memory(actor: psutil.Process) -> tuple[int, int]:
    """The actor's own RSS, and the PSS of the actor with its engine processes: PSS shares
    pages among the processes that map them, so Chromium's many processes are not counted
    several times over."""
    rss = actor.memory_info().rss
    pss = 0
    for p in [actor, *actor.children(recursive=True)]:
        try:
            pss += p.memory_full_info().pss
        except psutil.Error:
            pass
    return rss, pss


def _is_actor(proc: psutil.Process | None) -> bool:
    try:
        return proc is not None and " ".join(proc.cmdline()).startswith(_ACTOR_TITLE)
    except psutil.Error:
        return False


def _actors(root: psutil.Process) -> list[psutil.Process]:
    # an engine the actor is starting has the actor's command line until it execs
    return [p for p in root.children(recursive=True)
            if _is_actor(p) and not _is_actor(_parent(p))]


def _parent(proc: psutil.Process) -> psutil.Process | None:
    try:
        return proc.parent()
    except psutil.Error:
        return None


def _ours(scratch: Path) -> list[str]:
    """Live processes whose environment names the scratch folder: the job's descendants
    (TMPDIR is inherited) and TeX runs (their TEXMFOUTPUT lies under it)."""
    out = []
    for p in psutil.process_iter(["pid", "name"]):
        try:
            if p.pid == os.getpid() or p.status() == psutil.STATUS_ZOMBIE:
                continue
            if any(str(scratch) in value for value in p.environ().values()):
                out.append(f"{p.pid} {p.info['name']}: {' '.join(p.cmdline())[:120]}")
        except psutil.Error:
            pass
    return out


def _progress(out: Path) -> float:
    """The share of the planned samples in finished shards, from the manifest the driver
    rewrites after every shard."""
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return 0.0
    planned = sum(e["count"] for e in manifest["recipe"]["entries"])
    totals = manifest.get("totals", {})
    return (totals.get("rows", 0) + totals.get("rejects", 0)) / planned if planned else 0.0


def _by_renderer(manifest: dict) -> dict[str, dict[str, object]]:
    """Rows, rejects, reject rate and top reason per renderer, over all its entries."""
    totals: dict[str, tuple[int, int, Counter]] = {}
    for record in manifest.get("shards", {}).values():
        rows, rejects, reasons = totals.get(record["renderer"], (0, 0, Counter()))
        reasons.update(record.get("reject_reasons", {}))
        totals[record["renderer"]] = (rows + record["rows"], rejects + record["rejects"],
                                      reasons)
    out: dict[str, dict[str, object]] = {}
    for name, (rows, rejects, reasons) in totals.items():
        top = reasons.most_common(1)
        out[name] = {"rows": rows, "rejects": rejects,
                     "reject_rate": rejects / (rows + rejects) if rows + rejects else 0.0,
                     "top_reason": f"{top[0][0]} ({top[0][1]})" if top else "-"}
    return out


def run_soak(out: Path, workers: int, scale: float, recipe: Path = RECIPE,
             interval_s: float = 1.0) -> SoakReport:
    # A short path: Ray's socket paths under TMPDIR must stay below 108 characters.
    scratch = Path(tempfile.mkdtemp(prefix="o2s-soak-", dir="/tmp"))
    env = {**os.environ, "TMPDIR": str(scratch), SCRATCH_ENV: str(scratch),
           "RAY_TMPDIR": tempfile.gettempdir(),  # Ray's own session logs stay where they were
           "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                        os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "ocr2synth.pipelines.cli", "render", str(recipe),
               "--out", str(out),
               "--workers", str(workers), "--scale", str(scale), "--no-progress"]
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, cwd=ROOT)
    root = psutil.Process(proc.pid)
    # (share of the planned samples done, actor pid, RSS, tree PSS)
    samples: list[tuple[float, int, int, int]] = []
    while proc.poll() is None:
        done = _progress(out)
        for actor in _actors(root):
            try:
                samples.append((done, actor.pid, *_memory(actor)))
            except psutil.Error:
                pass  # it ended between the listing and the reading
        try:
            proc.wait(timeout=interval_s)
        except subprocess.TimeoutExpired:
            pass
    wall = time.monotonic() - started
    report = SoakReport(command=command, wall_s=wall, exit_code=proc.returncode,
                        verify_ok=verify_dataset(out).ok if (out / "manifest.json").exists()
                        else False)
    for pid in sorted({sample[1] for sample in samples}):
        # the first and the last fifth of the samples (round 1 and round 5 of the recipe)
        first = [s for s in samples if s[1] == pid and s[0] < _EDGE]
        last = [s for s in samples if s[1] == pid and s[0] >= 1 - _EDGE]
        report.memory_mib[pid] = {
            "rss_start": max(s[2] for s in first) / 2**20 if first else None,
            "rss_end": max(s[2] for s in last) / 2**20 if last else None,
            "pss_start": max(s[3] for s in first) / 2**20 if first else None,
            "pss_end": max(s[3] for s in last) / 2**20 if last else None,
        }
    # Ray stops the actors as the job ends; give their children a moment to go
    deadline = time.monotonic() + 30
    while (leaked := _ours(scratch)) and time.monotonic() < deadline:
        time.sleep(0.5)
    report.leaked_processes = leaked
    report.leftover_temp = sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*")
                                  if p.name not in _NOT_OURS)
    if (out / "manifest.json").exists():
        report.renderers = _by_renderer(load_manifest(out))
    if not report.leftover_temp:
        shutil.rmtree(scratch)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocr2synth.pipelines.tools.soak",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/soak")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 20,000")
    parser.add_argument("--recipe", type=Path, default=RECIPE)
    args = parser.parse_args(argv)
    out = Path(args.out)
    if (out / "manifest.json").exists():
        # a resumed soak would skip the finished shards and measure nothing
        print(f"error: {out} holds a dataset already; remove it or give another --out",
              file=sys.stderr)
        return 2
    report = run_soak(out, args.workers, args.scale, args.recipe)
    print(report.text())
    # beside the dataset, not in it: the dataset folder holds only what `verify` expects
    out.with_name(f"{out.name}-soak.json").write_text(json.dumps(asdict(report), indent=2))
    clean = not report.leaked_processes and not report.leftover_temp
    return 0 if report.exit_code == 0 and report.verify_ok and clean else 1


if __name__ == "__main__":
    sys.exit(main())
