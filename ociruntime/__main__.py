"""``python -m ociruntime`` runs the CLI."""

from ociruntime.cli import run

run()
