# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
# Both create .venv and install the project (re-installing only when pyproject.toml changes).

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck schema bench fuzz mutation clean

# `make test` spreads the suite over the machine's cores (one test database per worker);
# `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= auto

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing the project and its dependencies into $(VENV) (1-2 minutes the first time)..."
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	@touch $(STAMP)
	@echo "Installed."

# The announcement waits in the background for /readyz, then says where the IDE is.
# Beside the API: the worker, and a development mail sink (aiosmtpd on 127.0.0.1:8025)
# that keeps every message in the Maildir .data/mail (README "Worker").
DEV_SMTP_PORT ?= 8025
run: $(STAMP)
	$(BIN)/medspa-api db upgrade
	@mkdir -p .data/mail/tmp .data/mail/new .data/mail/cur
	@$(BIN)/python -m aiosmtpd -n -l 127.0.0.1:$(DEV_SMTP_PORT) -c aiosmtpd.handlers.Mailbox .data/mail & \
	MEDSPA_SMTP_URL=smtp://127.0.0.1:$(DEV_SMTP_PORT) $(BIN)/medspa-api worker & \
	$(BIN)/python -m api.ide.ready & $(BIN)/medspa-api serve --seed-demo-if-empty

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# Mutation testing of api/authz/ (mutmut; selection and paths in pyproject's [tool.mutmut]):
# each mutant runs the permission tests that cover it, one at a time (they share the test
# database); then the kill rate and the survivors are printed.
mutation: $(STAMP)
	rm -rf mutants
	-$(BIN)/mutmut run --max-children 1 > .mutmut.log 2>&1
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/python tests/mutation_report.py

lint: $(STAMP)
	$(BIN)/ruff check api db tests bench
	$(BIN)/ruff format --check api db tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/medspa-api schema > schema.graphql

# schemathesis over schema.graphql against a prod-mode server (admin, provider, partner);
# fails on any 5xx or INTERNAL_SERVER_ERROR. FUZZ_EXAMPLES (default 10) per operation.
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.run

bench: $(STAMP)
	$(BIN)/python bench/authz.py
	$(BIN)/python bench/calendar.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/pooler.py
	$(BIN)/python bench/policy_reload.py

clean:
	rm -rf $(VENV) .data
