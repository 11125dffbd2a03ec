"""``python -m waav`` runs the CLI."""

import sys

from waav.cli import main

sys.exit(main())
