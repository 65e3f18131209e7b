# Two commands: `make run` serves Twelve on the embedded default, `make test` runs every check.
# Both set up everything they need on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TWELVE_CONFIG ?= config/twelve.yaml
export TWELVE_CONFIG

.PHONY: run test lint types contracts pytest bench demo-upstream setup clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(VENV)/bin/twelve serve

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

types: setup
	$(VENV)/bin/mypy

contracts: setup
	$(VENV)/bin/lint-imports

pytest: setup
	$(VENV)/bin/pytest

test: lint types contracts pytest

bench: setup
	$(PY) -m bench.gateway

# An OpenAI-compatible echo server on 127.0.0.1:9100 (the `echo` model in config/twelve.yaml).
demo-upstream: setup
	$(PY) -m tests.fakes.upstream --port 9100

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
