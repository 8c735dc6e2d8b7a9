"""Digests of a rendered dataset, row by row: what the byte-identity test compares.

A digest covers every column of a row (image and input bytes, target, prompt, boxes, meta,
seed) and every reject's id and reason, so one changed byte anywhere names its row.
Run as a script to (re)write the golden file:

    PYTHONPATH=. python -m tests.golden_digests OUT_DIR tests/data/golden/digests.json
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq


def _sha(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def row_digest(row: dict[str, Any]) -> dict[str, Any]:
    rest = {key: row[key] for key in ("prompt", "task", "renderer", "width", "height",
                                      "boxes", "meta", "seed")}
    return {
        "image": _sha(row["image"]["bytes"]),
        "images": [_sha(image["bytes"]) for image in row["images"]],
        "target": _sha(row["target"]),
        "rest": _sha(json.dumps(rest, sort_keys=True, ensure_ascii=False)),
    }


def dataset_digests(root: str | Path) -> dict[str, Any]:
    root = Path(root)
    rows: dict[str, Any] = {}
    for path in sorted((root / "shards").glob("part-*.parquet")):
        for row in pq.read_table(path).to_pylist():
            rows[row["id"]] = row_digest(row)
    rejects = {}
    for path in sorted((root / "rejects").glob("part-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            rejects[record["id"]] = record["reason"]
    return {"rows": dict(sorted(rows.items())), "rejects": dict(sorted(rejects.items()))}


def differences(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """One line per id that differs, is missing or is extra."""
    out = []
    for part in ("rows", "rejects"):
        for key in sorted(set(got[part]) | set(want[part])):
            a, b = got[part].get(key), want[part].get(key)
            if a != b:
                fields = ([f for f in b if a[f] != b[f]] if isinstance(a, dict)
                          and isinstance(b, dict) else [])
                out.append(f"{part} {key}: got {a if not fields else fields} want "
                           f"{b if not fields else 'golden'}")
    return out


if __name__ == "__main__":
    digests = dataset_digests(sys.argv[1])
    Path(sys.argv[2]).write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(f"{len(digests['rows'])} rows, {len(digests['rejects'])} rejects")
