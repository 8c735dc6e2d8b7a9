# ocr2synth: every entry point installs what it needs first (`make setup`, idempotent).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export RAY_AUTH_MODE ?= disabled

# Debian packages: TeX Live subset (preview, amsmath, tikz, fonts, booktabs, multirow), poppler,
# chromium and its headless shell, CJK fonts, CJK for pdfLaTeX (CJKutf8 with the Arphic
# Song and Kai fonts), and WordNet 3.0's data files for `ocr2synth eval`'s METEOR.
DEB_PACKAGES := texlive-latex-base texlive-latex-recommended texlive-latex-extra \
	texlive-pictures texlive-fonts-recommended texlive-science lmodern \
	poppler-utils chromium chromium-headless-shell fonts-noto-cjk fonts-dejavu-core coreutils \
	latex-cjk-chinese latex-cjk-chinese-arphic-gbsn00lp latex-cjk-chinese-arphic-gkai00mp \
	wordnet-base fontconfig debian-reference-en debian-reference-zh-cn \
	texlive-science-doc texlive-latex-recommended-doc tesseract-ocr tesseract-ocr-eng


R ?= latex-formula
N ?= 64
OUT ?= out
WORKERS ?= 2

# Training (trainer/): DATA is a rendered dataset folder; GPUS>1 launches torchrun (DDP).
DATA ?= $(OUT)/demo
TRAIN_OUT ?= $(OUT)/train
PRESET ?= got
STEPS ?= 1000
GPUS ?= 1
TRAIN_ARGS ?=
ifeq ($(GPUS),1)
TRAIN := $(BIN)/ocr2synth train
else
TRAIN := $(BIN)/torchrun --standalone --nproc-per-node $(GPUS) -m ocr2synth.pipelines.cli train
endif

.PHONY: setup system-packages venv moses npm-assets demo preview test test-fast lint bench \
	render renderers clean train-stage1 train-stage2 train-stage3 soak proof gpu-check

setup: system-packages venv moses npm-assets

system-packages:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends $$missing; \
	fi

# Reinstalled only when pyproject.toml changes.
venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev,train]"
	@touch $@

# The MOSES SMILES ship inside the molsets wheel. Only its CSVs are used: installing the
# package would pull PyTorch and put top-level `moses` and `tests` packages in the venv.
MOSES_DIR := $(VENV)/share/ocr2synth/moses
moses: $(MOSES_DIR)/train.csv.gz
$(MOSES_DIR)/train.csv.gz: | $(VENV)/.installed
	$(BIN)/ocr2synth setup-assets --only moses

# Browser assets (mathpix-markdown-it, echarts) from the npm registry at the versions pinned
# in assets/package-lock.json, into the git-ignored assets/node_modules. Reinstalled only
# when the lock file changes. npm comes from Debian where none is installed.
npm-assets: assets/node_modules/.installed
assets/node_modules/.installed: assets/package.json assets/package-lock.json
	@command -v npm >/dev/null || ($(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q \
		&& $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm)
	cd assets && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

# The demo set's gallery (renders the demo first if it is missing); open the printed file.
preview: $(OUT)/demo/manifest.json
	$(BIN)/ocr2synth preview $(OUT)/demo

$(OUT)/demo/manifest.json:
	$(MAKE) demo

demo: setup
	$(BIN)/ocr2synth render --demo --out $(OUT)/demo --workers $(WORKERS)

test: setup
	$(BIN)/python -m pytest -q

# The unit tests only (no TeX, browser, Verovio or Ray; nothing slow): under two minutes.
test-fast: venv
	$(BIN)/python -m pytest -q -m "unit and not slow"

# The long run, not part of `make test`: memory per worker, leaks, leftovers, reject rates.
SOAK_SCALE ?= 1
soak: setup
	$(BIN)/python -m ocr2synth.pipelines.tools.soak --out $(OUT)/soak --workers $(WORKERS) --scale $(SOAK_SCALE)

lint: setup
	$(BIN)/ruff check .

# Every registered renderer -> BENCHMARKS.md (several minutes). Overrides, e.g.
# BENCH_ARGS="--seconds 3 --repeats 1 --no-scaling" or "--only molecule,music".
BENCH_ARGS ?=
bench: setup
	$(BIN)/ocr2synth bench --all --out BENCHMARKS.md $(BENCH_ARGS)

render: setup
	$(BIN)/ocr2synth render --renderer $(R) --count $(N) --out $(OUT)/$(R) --workers $(WORKERS)

# `make render-NAME` for every registered renderer (`make renderers` lists them): the CLI
# checks the name against the registry, so a new renderer needs no line here.
render-%:
	$(MAKE) render R=$*

renderers: setup
	$(BIN)/ocr2synth renderers

# Each stage starts from the previous stage's final checkpoint; re-running one resumes it.
train-stage1: setup
	$(TRAIN) --stage 1 --preset $(PRESET) --data $(DATA) --out $(TRAIN_OUT)/stage1 \
		--max-steps $(STEPS) $(TRAIN_ARGS)

train-stage2: setup
	$(TRAIN) --stage 2 --preset $(PRESET) --data $(DATA) --out $(TRAIN_OUT)/stage2 \
		--init-from $(TRAIN_OUT)/stage1/final --max-steps $(STEPS) $(TRAIN_ARGS)

train-stage3: setup
	$(TRAIN) --stage 3 --preset $(PRESET) --data $(DATA) --out $(TRAIN_OUT)/stage3 \
		--init-from $(TRAIN_OUT)/stage2/final --max-steps $(STEPS) $(TRAIN_ARGS)

# Does the data teach? A small stage-2-like mix and a held-out set rendered with another
# seed, the tiny preset trained on one and scored on the other, with and without images.
PROOF_ARGS ?=
proof: setup
	$(BIN)/ocr2synth render pipelines/recipes/proof.yaml --out $(OUT)/proof/train \
		--workers $(WORKERS) --no-progress
	$(BIN)/ocr2synth render pipelines/recipes/proof-heldout.yaml --out $(OUT)/proof/heldout \
		--workers $(WORKERS) --no-progress
	$(BIN)/python -m ocr2synth.trainer.proof --train $(OUT)/proof/train --heldout $(OUT)/proof/heldout \
		--out $(OUT)/proof/report $(PROOF_ARGS)

# The trainer's figures on one GPU (trainer/gpu_check.py): GOT's shapes at batch 1, 2, 4 with
# 8K tokens in bf16, then 300 proof steps on out/proof (render it first with `make proof`,
# or carry it). No `setup`: a GPU machine may have no network; it runs with the Python that
# has torch (the venv's where there is one).
GPU_PYTHON ?= $(shell [ -x $(BIN)/python ] && echo $(BIN)/python || echo python3)
GPU_CHECK_ARGS ?=
gpu-check:
	PYTHONPATH=$(CURDIR) $(GPU_PYTHON) -m ocr2synth.trainer.gpu_check --proof-train $(OUT)/proof/train \
		--proof-heldout $(OUT)/proof/heldout $(GPU_CHECK_ARGS)

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
