"""pdf-page's default corpus: the TeX Live documentation Debian ships.

`make setup` installs `texlive-science-doc` and `texlive-latex-recommended-doc`: some 600
real typeset manuals under /usr/share/doc/texlive-doc, with text layers. Each package's
licence comes from Debian's per-package lists (/usr/share/doc/texlive-*/Licenses.gz:
a `name: licence` line, then that package's file globs).

This module finds files and licences; it does not open PDFs.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

ROOT = Path("/usr/share/doc/texlive-doc")
PACKAGES = ("texlive-science-doc", "texlive-latex-recommended-doc")
_PREFIX = "texmf-dist/doc/"


@lru_cache(maxsize=1)
def licenses(doc_root: Path = Path("/usr/share/doc")) -> dict[str, str]:
    """Documentation folder (relative to ROOT, e.g. `latex/amsmath`) -> licence."""
    out: dict[str, str] = {}
    for listing in sorted(doc_root.glob("texlive-*/Licenses.gz")):
        license = "unknown"
        with gzip.open(listing, "rt", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                line = line.rstrip("\n")
                if line and not line.startswith((" ", "texmf")) and ":" in line:
                    license = line.partition(":")[2].strip() or "unknown"
                elif line.startswith(_PREFIX):
                    folder = line[len(_PREFIX):].rstrip("*").rstrip("/")
                    out.setdefault(folder, license)
    return out


def license_of(path: str | Path, root: Path = ROOT) -> str:
    """The licence of the package a PDF under ROOT documents, or "unknown"."""
    try:
        relative = Path(path).resolve().relative_to(root)
    except ValueError:
        return "unknown"
    table = licenses()
    for parent in [relative, *relative.parents]:
        if str(parent) in table:
            return table[str(parent)]
    return "unknown"


def available() -> bool:
    return ROOT.is_dir() and any(ROOT.rglob("*.pdf"))
