# Every target creates .venv on first use and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
TEST_STAMP := $(VENV)/.installed-test
DEMO_STAMP := $(VENV)/.installed-demo
SOURCES := setup.cfg pyproject.toml

.PHONY: demo test lint bench docs

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

docs: $(TEST_STAMP)
	$(BIN)/sphinx-build -q -W --keep-going -b html docs docs/_build/html

test: lint docs
	$(BIN)/pytest

bench: $(TEST_STAMP)
	$(PY) -m benchmarks
