# ocr2synth: every entry point installs what it needs first (`make setup`, idempotent).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export RAY_AUTH_MODE ?= disabled

# Debian packages: TeX Live subset (preview, amsmath, tikz, fonts, booktabs, multirow), poppler,
# chromium, CJK fonts, and CJK for pdfLaTeX (CJKutf8 with the Arphic Song and Kai fonts).
DEB_PACKAGES := texlive-latex-base texlive-latex-recommended texlive-latex-extra \
	texlive-pictures texlive-fonts-recommended texlive-science lmodern \
	poppler-utils chromium fonts-noto-cjk coreutils \
	latex-cjk-chinese latex-cjk-chinese-arphic-gbsn00lp latex-cjk-chinese-arphic-gkai00mp

R ?= latex-formula
N ?= 64
OUT ?= out
WORKERS ?= 2

.PHONY: setup system-packages venv demo test lint bench render clean \
	render-latex-formula render-latex-table render-latex-page render-tikz

setup: system-packages venv

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
	$(BIN)/pip install -q -e ".[dev]"
	@touch $@

demo: setup
	$(BIN)/ocr2synth render pipelines/recipes/demo.yaml --out $(OUT)/demo --workers $(WORKERS)

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/ocr2synth bench --renderer latex-formula --memory

render: setup
	$(BIN)/ocr2synth render --renderer $(R) --count $(N) --out $(OUT)/$(R) --workers $(WORKERS)

render-latex-formula:
	$(MAKE) render R=latex-formula

render-latex-table:
	$(MAKE) render R=latex-table

render-latex-page:
	$(MAKE) render R=latex-page

render-tikz:
	$(MAKE) render R=tikz

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
