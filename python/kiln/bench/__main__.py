"""`python -m kiln.bench`: the benchmark harness's command line (kiln/bench/_cli.py)."""
import sys

from ._cli import main

sys.exit(main())
