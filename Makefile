# Every target creates .venv on first use and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
TEST_STAMP := $(VENV)/.installed-test
DEMO_STAMP := $(VENV)/.installed-demo
SOURCES := setup.cfg pyproject.toml

.PHONY: demo test lint bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(TEST_STAMP): $(PY) $(SOURCES)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(DEMO_STAMP): $(PY) $(SOURCES)
	$(PY) -m pip install --quiet -e '.[cli]'
	touch $@

demo: $(DEMO_STAMP)
	$(PY) examples/demo.py

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(TEST_STAMP)
	$(PY) -m benchmarks
