# The two front-door commands. Both set up .venv first (idempotent).
VENV ?= .venv
PY = $(VENV)/bin/python
export OMP_WAIT_POLICY ?= PASSIVE
export RAY_AUTH_MODE ?= disabled
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup train smoke test lint

setup:
	bash scripts/setup.sh

## Train the embedded default (SmolLM2-135M-Instruct) on arithmetic with GRPO.
train: setup
	$(PY) -m rlvr.run configs/math.yaml $(ARGS)

## The whole loop on a tiny model built on the fly (~3 minutes).
smoke: setup
	$(PY) -m rlvr.run configs/smoke.yaml $(ARGS)

## Lint, then every test (slow ones included).
test:
	bash scripts/test.sh $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .
