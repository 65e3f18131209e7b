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

# The load generator is wrk (Debian's package; a build of it that keeps raw latency samples when
# it can be made, see bench/build_wrk_raw.sh) and the profiler py-spy; both are installed here.
bench: setup
	command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	test -x $(VENV)/bin/wrk-raw || bash bench/build_wrk_raw.sh $(VENV)/bin/wrk-raw \
		|| echo "bench: no raw-latency wrk; using stock wrk (its p99s include coordinated-omission samples)"
	test -x $(VENV)/bin/py-spy || $(PY) -m pip install --quiet py-spy==0.4.3
	$(PY) -m bench

# An OpenAI-compatible echo server on 127.0.0.1:9100 (the `echo` model in config/twelve.yaml).
demo-upstream: setup
	$(PY) -m tests.fakes.upstream --port 9100

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
