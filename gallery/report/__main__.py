"""Write the gallery page: python -m gallery.report [RUNS_DIR] (default: runs)."""

import sys

from gallery.report.cli import main

sys.exit(main())
