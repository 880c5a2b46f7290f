#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, then pytest.
set -euo pipefail
cd "$(dirname "$0")"
./install.sh
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@" tests
