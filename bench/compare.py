#!/usr/bin/env python3
"""kiln vs PyTorch eager / torch.compile on one model: the benchmark harness of the Python
package (python/kiln/bench), the same as `python -m kiln.bench`. Run from a checkout, it uses
python/kiln (and the extension in $KILN_BUILD_DIR or build/) unless kiln is installed.

    python3 bench/compare.py --model resnet50 --batches 1 8 64
    python3 bench/compare.py --model bert --target cpu --batches 1 --modes eager compile
"""
import os
import sys

try:
    import kiln.bench  # noqa: F401  (an installed kiln)
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                    "python"))

from kiln.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
