#!/usr/bin/env bash
# The test command (what `make test` and CI run): set up .venv, lint, then the whole suite, slow tests
# included. Exits with pytest's code (ruff's if linting fails first). Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${RLVR_VENV:-.venv}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} RAY_AUTH_MODE=${RAY_AUTH_MODE:-disabled}
export TOKENIZERS_PARALLELISM=${TOKENIZERS_PARALLELISM:-false} HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
bash scripts/setup.sh || exit 1
"$VENV/bin/ruff" check . || exit $?
"$VENV/bin/python" -m pytest "$@"
