# Every target creates .venv on first use and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
TEST_STAMP := $(VENV)/.installed-test
DEMO_STAMP := $(VENV)/.installed-demo
SOURCES := setup.cfg pyproject.toml
# A real third-party plugin distribution the tests use; reinstalled whenever its files change.
FIXTURE := tests/fixtures/futurist-fixture-plugins
FIXTURE_STAMP := $(VENV)/.installed-fixture
FIXTURE_FILES := $(FIXTURE)/pyproject.toml $(wildcard $(FIXTURE)/futurist_fixture_plugins/*.py)

.PHONY: demo test test-all test-py311 test-py312 test-py313 lint bench docs sample promtool

# pyenv's interpreters go first on PATH for tox: its shims answer only for the selected version.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null)
empty :=
space := $(empty) $(empty)
INTERPRETERS_PATH := $(subst $(space),,$(foreach bin,$(wildcard $(PYENV_ROOT)/versions/3.1[1-4]*/bin),$(bin):))

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(TEST_STAMP): $(PY) $(SOURCES)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(FIXTURE_STAMP): $(TEST_STAMP) $(FIXTURE_FILES)
	$(PY) -m pip install --quiet --no-deps --force-reinstall ./$(FIXTURE)
	rm -rf $(FIXTURE)/build $(FIXTURE)/*.egg-info
	touch $@

$(DEMO_STAMP): $(PY) $(SOURCES)
	$(PY) -m pip install --quiet -e '.[cli]'
	touch $@

# The command on a fresh machine: installed kinds, the sample config's thread pool, a comparison.
demo: $(DEMO_STAMP)
	$(BIN)/futurist executors
	$(BIN)/futurist run --config-file etc/futurist.conf.sample --tasks 400 --work sleep:0.005
	$(BIN)/futurist compare --kinds thread,thread_dynamic,process,synchronous --tasks 200 \
		--work sleep:0.005

lint: $(FIXTURE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/reno lint

docs: $(TEST_STAMP)
	$(BIN)/sphinx-build -q -W --keep-going -b html docs docs/_build/html

# promtool (Debian's prometheus package) checks every series futurist serves; where apt-get
# cannot install it, tests/metrics/test_promtool.py is skipped and says why.
promtool:
	command -v promtool >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; } \
		|| echo "promtool could not be installed; its test will be skipped"

# A wall-clock limit on the whole run: a hang pytest-timeout cannot break (an interpreter exit
# waiting for a stuck child, say) fails the run instead of holding it. At the limit pytest gets
# SIGTERM and ends its children (tests/conftest.py); --foreground keeps Ctrl-C working.
TEST_TIME_LIMIT ?= 20m
test: lint docs promtool
	timeout --foreground --kill-after=1m $(TEST_TIME_LIMIT) $(BIN)/pytest

# The suite under one Python each, in tox's own environment (.tox/py3XX); skipped, saying so,
# where that interpreter is not installed (tox would fail a run whose every environment it skips).
test-py311 test-py312 test-py313: $(TEST_STAMP)
	@if PATH="$(INTERPRETERS_PATH)$$PATH" python$(subst py3,3.,$(@:test-%=%)) -c "" 2>/dev/null; \
	then PATH="$(INTERPRETERS_PATH)$$PATH" $(BIN)/tox run -e $(@:test-%=%); \
	else echo "$@: SKIPPED: no python$(subst py3,3.,$(@:test-%=%)) on PATH nor in pyenv"; fi

test-all: test-py311 test-py312 test-py313

bench: $(TEST_STAMP)
	$(PY) -m benchmarks

# Regenerate the sample configuration from futurist's own options (see etc/).
sample: $(TEST_STAMP)
	$(BIN)/oslo-config-generator --config-file etc/futurist-config-generator.conf
