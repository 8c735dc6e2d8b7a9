"""`ocr2synth`'s entry point (pyproject's console script, `python -m ocr2synth.pipelines.cli`): the
command line lives in pipelines/tools/cli.py."""

import sys

from ocr2synth.pipelines.tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
