# Two commands do all set-up on a fresh machine:
#   make book   create .venv, install, build the book into _build/html
#   make test   create or reuse .venv, run pytest and every notebook under nbval (DRNET_PROFILE=ci), build the
#               cpu book and open it, and JupyterLab, in headless Chromium
#   make lab    open the chapters in JupyterLab, with live sliders
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NOTEBOOKS := $(wildcard book/*.ipynb)

.PHONY: venv book lab test test-lib test-notebooks test-browser lint bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# jupyter-cache hashes only the notebooks' code cells: drop the cache when the library, the weights,
# the requirements or the profile change, so the book never shows numbers from other code.
# The profile that executes the book's notebooks is the one in the key, by construction: both read BOOK_PROFILE.
BOOK_PROFILE := $(or $(DRNET_PROFILE),cpu)
BOOK_KEY = $(shell cat requirements.txt $$(find drnet_core drnet_experiments data_utils -name '*.py' | sort) checkpoints/*.json checkpoints/*.jsonl 2>/dev/null | sha256sum | cut -c1-16)-$(BOOK_PROFILE)

book: venv
	@if [ "$$(cat _build/.book-key 2>/dev/null)" != "$(BOOK_KEY)" ]; then rm -rf _build/.jupyter_cache _build/.doctrees _build/jupyter_execute _build/html; fi
	DRNET_PROFILE=$(BOOK_PROFILE) $(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "$(BOOK_KEY)" > _build/.book-key

# The chapters in JupyterLab with live sliders (the cpu profile, from the committed weights).
lab: venv
	DRNET_PROFILE=$(BOOK_PROFILE) $(VENV)/bin/jupyter lab book/

test: test-lib test-notebooks test-browser

test-lib: venv
	$(PY) -m pytest -q tests --ignore=tests/browser

# Builds the book (profile cpu, from the committed weights) and opens every chapter in headless Chromium.
test-browser: book
	$(PY) -m pytest -q tests/browser

test-notebooks: venv
ifneq ($(strip $(NOTEBOOKS)),)
	DRNET_PROFILE=ci $(PY) -m pytest -q --nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:python $(NOTEBOOKS)
else
	@echo "no notebooks under book/ yet"
endif

lint: venv
	$(VENV)/bin/ruff check .

bench: venv
	$(PY) benchmarks/suite.py --json benchmarks/suite_results.json --markdown benchmarks/suite_results.md

clean:
	rm -rf _build
