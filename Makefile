# cisco-vk: the two commands of the README.
#   make demo   set up (venv, packages) and run the local sandbox
#   make test   set up and run the whole suite (lint, types, unit, end-to-end)
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Debian packages the tests use (yanglint cross-checks the simulator's YANG validation).
DEB_PACKAGES := libyang2-tools

.PHONY: setup test lint typecheck unit demo bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)
	@bash hack/scripts/install-debs.sh $(DEB_PACKAGES)
	@$(PY) hack/scripts/install_k8s_tools.py

lint: setup
	$(VENV)/bin/ruff check cvk controller hack tests

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(PY) -m pytest -q -m "not e2e"

test: setup lint typecheck
	$(PY) -m pytest -q -ra

demo: setup
	$(PY) -m hack.sandbox

bench: setup
	$(PY) -m hack.bench

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
