"""``python -m roost.bench seed|run|report ...``: the harness without the main CLI."""

from __future__ import annotations

import sys

from roost.bench.cli import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    sys.exit(main(argv if argv[:1] == ["bench"] else ["bench", *argv]))
