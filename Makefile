# Two commands: `make run` serves Twelve on the embedded default, `make test` runs every check.
# Both set up everything they need on a fresh machine: `make run` installs only what serving
# needs (requirements.lock), `make test` the development tools too (requirements-dev.lock).
# Any Python 3.11 or newer: `make test PYTHON=python3.12` (default: python3).
# `make test` also needs PostgreSQL on 127.0.0.1:5432 (trust auth, or TWELVE_TEST_PG_DSN).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
TWELVE_CONFIG ?= config/twelve.yaml
export TWELVE_CONFIG
# Debian packages the sidecar's local models run on, installed by `make` when missing:
# flite speaks (local-tts), tesseract reads (local-ocr), cmake and g++ build llama.cpp (local-chat).
DEBIAN_PACKAGES := flite tesseract-ocr tesseract-ocr-eng cmake g++
# llama.cpp for local-chat: no wheel on PyPI, so it is built from source once (6-8 minutes on
# 2 idle cores, far longer on a busy machine) into a wheel cache that outlives `make clean`, and
# is installed from there. Portable CPU flags: the default native build died with SIGILL here.
LLAMA_CPP_VERSION := 0.3.36
WHEEL_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/twelve/wheels
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

.PHONY: run test lint types contracts pytest bench demo-upstream setup setup-runtime check-python clean llama-cpp

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  echo "make: Twelve needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>/dev/null || echo 'not found')." >&2; \
	  echo "make: choose one with PYTHON=, e.g. 'make test PYTHON=python3.12'." >&2; exit 2; }

$(RUNTIME): pyproject.toml requirements.lock requirements-data.lock
	@$(MAKE) --no-print-directory check-python
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make: installing Debian packages:" $$missing; \
	  { apt-get update -qq && apt-get install -y -qq $$missing; } \
	    || echo "make: could not install" $$missing "; the local models that need them answer 503" >&2; \
	fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python -r requirements-data.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@$(MAKE) --no-print-directory llama-cpp
	touch $(RUNTIME)

# Build (when the cache has none; the wheel is py3-none: llama.cpp is loaded by ctypes) and install llama-cpp-python. A failed build
# is not fatal: local-chat then answers 503 model_not_installed, naming what to install.
llama-cpp:
	@wheel=$$(ls $(WHEEL_CACHE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl 2>/dev/null | head -1); \
	if [ -z "$$wheel" ]; then \
	  echo "make: building llama-cpp-python $(LLAMA_CPP_VERSION) for local-chat, once (6-8 minutes on 2 cores; cached in $(WHEEL_CACHE))"; \
	  mkdir -p $(WHEEL_CACHE) && CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel --quiet --no-deps --no-cache-dir \
	    -w $(WHEEL_CACHE) llama-cpp-python==$(LLAMA_CPP_VERSION) >$(WHEEL_CACHE)/llama-build.log 2>&1 \
	    && wheel=$$(ls $(WHEEL_CACHE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl 2>/dev/null | head -1); \
	fi; \
	if [ -n "$$wheel" ]; then \
	  $(PY) -m pip install --quiet --no-deps "$$wheel"; \
	else \
	  echo "make: could not build llama-cpp-python $(LLAMA_CPP_VERSION) (it needs cmake and a C++ compiler; log: $(WHEEL_CACHE)/llama-build.log); local-chat will answer 503 until it is built" >&2; \
	fi

# Debian's chromium drives the browser tests (Playwright with executable_path; no browser download).
$(DEV): $(RUNTIME) requirements-dev.lock
	$(PY) -m pip install --quiet -r requirements-dev.lock
	command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; } \
		|| echo "make: could not install chromium; the browser tests will be skipped" >&2
	touch $(DEV)

setup-runtime: $(RUNTIME)

setup: $(DEV)

run: setup-runtime
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
demo-upstream: setup-runtime
	$(PY) -m tests.fakes.upstream --port 9100

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .import_linter_cache
