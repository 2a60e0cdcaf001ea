# Two commands on a fresh Debian machine with Python 3.11+:
#   make demo   set up, then run the twelve runbook notebooks on the embedded demo incident
#   make test   set up (virtualenv, packages, system packages the tests start), then run every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast test-e2e lab setup sysdeps kernel bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name irlib --display-name "irlib (project venv)" >/dev/null
	touch $(STAMP)

setup: $(STAMP)

sysdeps:
	./scripts/install-system-deps.sh

demo: $(STAMP)
	$(BIN)/irlib demo

test: $(STAMP) sysdeps
	CI=$${CI:-} $(BIN)/python -m pytest -q tests

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q tests --ignore=tests/e2e -m "not slow"

test-e2e: $(STAMP) sysdeps
	CI=$${CI:-} $(BIN)/python -m pytest -q tests/e2e

lab: $(STAMP) sysdeps
	$(BIN)/irlib lab

bench: $(STAMP) sysdeps
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
