"""python -m analytics: the command line (analytics.cli)."""
import sys

from analytics.cli import main

sys.exit(main())
