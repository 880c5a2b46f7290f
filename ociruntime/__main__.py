"""``python -m ociruntime`` runs the CLI."""

import sys

from ociruntime.cli import main

sys.exit(main())
