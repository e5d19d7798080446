"""``python -m bench``: run the benchmarks (``make bench``)."""

import sys

from bench.cli import main

sys.exit(main())
