# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
# Both create .venv and install the project (re-installing only when pyproject.toml changes).

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck schema bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/medspa-api serve --seed-demo-if-empty

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check api db tests bench
	$(BIN)/ruff format --check api db tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/medspa-api schema > schema.graphql

bench: $(STAMP)
	$(BIN)/python bench/authz.py
	$(BIN)/python bench/calendar.py

clean:
	rm -rf $(VENV) .data
