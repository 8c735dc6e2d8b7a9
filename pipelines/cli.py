"""`ocr2synth`'s entry point (pyproject's console script, `python -m pipelines.cli`): the
command line lives in pipelines/tools/cli.py."""

import sys

from pipelines.tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
