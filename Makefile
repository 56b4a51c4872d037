# litlab: every target sets up .venv itself. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= configs/cifar10_cnn.yaml
ARGS   ?=
PORT   ?= 6006

.DEFAULT_GOAL := help
.PHONY: help install train demo fit test-run tensorboard test test-all lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo "  Variables: CONFIG=<yaml> (default $(CONFIG)), ARGS='<overrides>', e.g. ARGS='--trainer.max_epochs 3'"

# Re-installs only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP) ## create .venv and install litlab with its dev extras (idempotent)

train: $(STAMP) ## train CONFIG (default: ResNet-9 on CIFAR-10; downloads it into data/ once)
	$(BIN)/litlab fit --config $(CONFIG) $(ARGS)

demo: $(STAMP) ## offline demo: MLP on synthetic data, under a minute on CPU
	$(BIN)/litlab fit --config configs/synthetic_mlp.yaml $(ARGS)

test-run: $(STAMP) ## evaluate a checkpoint: make test-run CONFIG=... ARGS='--ckpt_path <file>'
	$(BIN)/litlab test --config $(CONFIG) $(ARGS)

tensorboard: $(STAMP) ## serve logs/ on http://127.0.0.1:$(PORT) (localhost only)
	$(BIN)/tensorboard --logdir logs --host 127.0.0.1 --port $(PORT)

test: $(STAMP) ## run the default test suite (offline, CPU, a few minutes)
	$(BIN)/python -m pytest -m "not slow" -q

test-all: $(STAMP) ## run every test, the slow ones too
	$(BIN)/python -m pytest -q

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts

clean: ## remove caches (keeps .venv, data/ and logs/)
	rm -rf .pytest_cache .ruff_cache src/*.egg-info
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
