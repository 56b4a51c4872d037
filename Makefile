# litlab: every target sets up .venv itself. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= configs/cifar10_cnn.yaml
ARGS   ?=
PORT   ?= 6006
JPG_ARCHIVE ?= ../shared/data/cifar10-jpg.tar.gz

.DEFAULT_GOAL := help
# The byte-code cache must be written (some hosts turn it off) or every process recompiles torch.
unexport PYTHONDONTWRITEBYTECODE
.PHONY: help install train demo resume bench bench-accuracy bench-airbench bench-gap gpu-wheels data-jpg table-data test-run predict tensorboard report sweep test test-all lint browser-deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'
	@echo "  Variables:           CONFIG=<yaml> (default $(CONFIG)), ARGS='<overrides>', e.g. ARGS='--trainer.max_epochs 3'"

# Re-installs only when pyproject.toml is newer than the stamp. --no-compile: byte-compiling all of torch is a
# large share of the install (RESULTS.md); instead Python compiles, and caches, only what it imports.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-compile -e '.[dev,export,sweep,postgres,bench]'
	touch $@

install: $(STAMP) ## create .venv and install litlab with its dev, export, sweep, postgres and bench extras (idempotent)

train: $(STAMP) ## train CONFIG (default: ResNet-9 on CIFAR-10; downloads it into data/ once)
	$(BIN)/litlab fit --config $(CONFIG) $(ARGS)

demo: $(STAMP) ## offline demo: MLP on synthetic data, on the CPU (how long: benchmarks/RESULTS.md)
	$(BIN)/litlab fit --config configs/synthetic_mlp.yaml $(ARGS)

resume: $(STAMP) ## continue the training run under logs/ written to last, from its newest checkpoint (ARGS: overrides)
	$(BIN)/python -m litlab.command.resume $(ARGS)

bench: $(STAMP) ## regenerate benchmarks/RESULTS.md: data path, trainer overhead, peak memory (RESULTS.md says how long)
	$(BIN)/python scripts/bench_data.py --out benchmarks/RESULTS.md
	$(BIN)/python scripts/bench_overhead.py --out benchmarks/RESULTS.md
	$(BIN)/python scripts/bench_memory.py --out benchmarks/RESULTS.md

bench-accuracy: $(STAMP) data-jpg ## time to accuracy on the JPEG copy: baseline vs fast recipe (RESULTS.md says how long)
	$(BIN)/python scripts/bench_time_to_accuracy.py --out benchmarks/RESULTS.md

bench-airbench: $(STAMP) data-jpg ## airbench94 beside litlab's CPU recipes, 3 seeds each, into RESULTS.md (hours: see benchmarks/README.md)
	$(BIN)/python benchmarks/airbench_side_by_side.py --out benchmarks/RESULTS.md

bench-gap: $(STAMP) data-jpg ## the gap analysis: one ablation at a time of the 15-minute recipe, 3 seeds (hours)
	$(BIN)/python benchmarks/airbench_side_by_side.py --ablations --out benchmarks/RESULTS.md

gpu-wheels: $(STAMP) ## what benchmarks/gpu_check.py needs carried to an offline GPU machine: .whl/ and the JPEG archive
	$(BIN)/python benchmarks/gpu_check.py --download-wheels .whl
	mkdir -p data && cp $(JPG_ARCHIVE) data/cifar10-jpg.tar.gz

table-data: $(STAMP) ## write the generated example table data/example_table.csv (for configs/table_mlp.yaml)
	$(BIN)/python -m litlab.data.example_table data/example_table.csv

data-jpg: ## unpack the CIFAR-10 JPEG copy into data/cifar10-jpg (configs/data/cifar10_jpg.yaml reads it)
	@test -f $(JPG_ARCHIVE) || { echo "no $(JPG_ARCHIVE); set JPG_ARCHIVE=<path to cifar10-jpg.tar.gz>"; exit 1; }
	@if [ -d data/cifar10-jpg/train ]; then echo "data/cifar10-jpg is already unpacked"; \
	else mkdir -p data/cifar10-jpg && tar xzf $(JPG_ARCHIVE) -C data/cifar10-jpg && \
	echo "unpacked $(JPG_ARCHIVE) into data/cifar10-jpg: $$(find data/cifar10-jpg -type f | wc -l) files"; fi

test-run: $(STAMP) ## evaluate a checkpoint: make test-run CONFIG=... ARGS='--ckpt_path <file>'
	$(BIN)/litlab test --config $(CONFIG) $(ARGS)

predict: $(STAMP) ## predictions.csv for the test split, from the newest run of CONFIG: make predict CONFIG=...
	$(BIN)/litlab predict --config $(CONFIG) --ckpt_path last $(ARGS)

tensorboard: $(STAMP) ## serve logs/ on http://127.0.0.1:6006 (localhost only; PORT= to change)
	@mkdir -p logs  # created by the first run; made here so a fresh clone serves an empty board
	$(BIN)/tensorboard --logdir logs --host 127.0.0.1 --port $(PORT)

report: $(STAMP) ## compare every run under logs/: logs/report.md (table) and logs/report.png (curves)
	$(BIN)/python scripts/report.py --logdir logs

sweep: $(STAMP) ## offline Optuna sweep of the demo (configs/sweeps/synthetic_mlp.yaml) into logs/sweeps/; rerun resumes
	$(BIN)/litlab sweep configs/sweeps/synthetic_mlp.yaml $(ARGS)

test: $(STAMP) ## run the default test suite (offline, CPU, a few minutes; one worker per core, a file per worker)
	$(BIN)/python -m pytest -m "not slow" -q -n auto --dist loadfile

test-all: $(STAMP) ## run every test, the slow ones too
	$(BIN)/python -m pytest -q

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks

browser-deps: ## (Debian/Ubuntu, as root) headless Chromium + chromedriver for tests/test_browser.py
	apt-get update && apt-get install -y chromium chromium-driver

clean: ## remove caches (keeps .venv, data/ and logs/)
	rm -rf .pytest_cache .ruff_cache src/*.egg-info
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
