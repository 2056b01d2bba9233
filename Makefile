# Two entry points for a fresh machine (see README):
#   make run   - set up ./.venv if missing, compile what the shipped pipelines need, run the main job
#   make test  - the same set-up, then the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup compile bench clean rebuild-llama

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	# torch is pinned (==2.13.0) in the compile extra so pip takes the CPU wheel on disk, not a CUDA build
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install --quiet -e ".[all]"
	# pip may have re-used a llama-cpp-python wheel it built on another CPU: rebuild it if it does not fit this one
	$(BIN)/python -m pawflow.backends.llamacpp_build --check || $(MAKE) rebuild-llama
	touch $(STAMP)

# Rebuild llama-cpp-python from source for this CPU, bypassing pip's wheel cache.
rebuild-llama:
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install --quiet --force-reinstall --no-deps --no-cache-dir \
		"llama-cpp-python==$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')"
	$(BIN)/python -m pawflow.backends.llamacpp_build --check

setup: $(STAMP)

compile: setup
	$(BIN)/pawflow compile --all

run: compile
	$(BIN)/pawflow eval toolcall15

test: compile
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/interpreter.py

clean:
	rm -rf $(VENV) build *.egg-info
