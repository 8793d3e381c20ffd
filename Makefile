# One entry point for set-up, the main job and the tests. Everything installs into ./.venv.
#   make bench   set up, then run the quick benchmark suite (report in out/)
#   make test    set up (and the Debian data packages, best effort), then run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tuneless-installed

.PHONY: setup data bench test lint clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# constraints.txt pins torch==2.13.0: the CPU build in this machine's wheel store (an unpinned torch is CUDA).
	$(PY) -m pip install -q -c constraints.txt -e '.[torch,plot,bench,ray,jax,dev,transformers,lightning,accelerate,tensorboard]'
	# timm without its dependencies: its torchvision from PyPI is a CUDA build that cannot load beside the CPU torch
	# (and then breaks transformers' Trainer import); tuneless.integrations.timm needs only timm's scheduler module.
	# timm's other dependencies (huggingface_hub, safetensors, pyyaml) come with transformers.
	$(PY) -m pip install -q -c constraints.txt --no-deps 'timm>=1.0' 'pyyaml>=5.1'
	touch $(STAMP)

setup: $(STAMP)

# Real data from Debian packages, best effort (needs root; the workloads that need them skip with a message).
data:
	-@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  if [ ! -d /usr/share/datasets/fashion-mnist ] || ! command -v bible >/dev/null; then \
	    (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist bible-kjv) >/dev/null 2>&1 \
	      || echo "note: could not install dataset-fashion-mnist / bible-kjv; those workloads will be skipped"; \
	  fi; \
	fi

bench: setup data
	$(PY) -m tuneless.cli bench --suite quick --store out/bench.sqlite --out out

test: setup data
	$(PY) -m pytest -q -n 2

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
