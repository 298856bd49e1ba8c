"""``python -m greenops_tb`` runs the command line."""
import sys

from greenops_tb.cli import main

sys.exit(main())
