# Every target installs what it needs: a virtualenv from the pinned requirements, npm ci from the lock.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export PYTHONPATH := $(CURDIR):$(CURDIR)/lambdas/layer/python:$(CURDIR)/lambdas
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export TABLE_NAME ?= resource-registry

.PHONY: help deps run test lint typecheck unit synth openapi backfill verify prune bench clean clean-data
.DEFAULT_GOAL := help

help: ## list the targets and the environment variables they read
	@echo "Targets:"
	@grep -hE '^[a-z][a-z -]*:.*## ' $(MAKEFILE_LIST) | \
		sed -E 's/^([a-z -]+):.*## (.*)$$/\1\t\2/' | awk -F'\t' '{printf "  %-26s %s\n", $$1, $$2}'
	@echo "Environment:"
	@echo "  TABLE_NAME                 the table (default resource-registry): run, backfill/verify/prune"
	@echo "  AWS_ENDPOINT_URL_DYNAMODB  use this DynamoDB and start none: run, backfill/verify/prune"
	@echo "  AWS_REGION, AWS_PROFILE    region and credentials (the AWS SDK's own): same targets"
	@echo "  PORT                       the API's port on 127.0.0.1 (default 3000): run"
	@echo "  DYNAMODB_LOCAL_PORT        DynamoDB Local's port (default 8000): run, backfill/verify/prune"
	@echo "  LOCAL_DATA_DIR             DynamoDB Local's data (default .local/dynamodb): run, clean-data"
	@echo "  SEGMENTS                   parallel scan segments (default 4): backfill/verify/prune"
	@echo "  BENCH_ARGS                 arguments to the benchmarks, e.g. --quick: bench"
	@echo "  PYTHON                     the Python that makes .venv (default python3): every target"

deps: $(VENV)/.installed node_modules/.installed ## install everything: the virtualenv and npm packages

# The runtime first and on its own, so that make run does not wait for the dev tools.
$(VENV)/.runtime: requirements.txt constraints.txt
	@echo "installing the runtime into $(VENV) (requirements.txt)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.installed: $(VENV)/.runtime requirements-dev.txt constraints.txt
	@echo "installing the development tools into $(VENV) (requirements-dev.txt; takes a few minutes)"
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	@echo "installing DynamoDB Local and the CDK CLI into node_modules (npm ci)"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(VENV)/.runtime node_modules/.installed ## DynamoDB Local, the table, and the API on 127.0.0.1:PORT until Ctrl-C
	$(PY) -m devtools.run_local

lint: deps ## ruff: lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: deps ## mypy, strict
	$(BIN)/mypy lambdas devtools infra app.py tests

test: lint typecheck ## lint, typecheck and the whole suite (what CI runs)
	$(BIN)/pytest -n 2 --dist loadfile

unit: deps ## only the fast unit tests (moto, no DynamoDB Local)
	$(BIN)/pytest tests/unit -q

synth: deps ## the CloudFormation template into cdk.out/, offline
	npx cdk synth --quiet --output cdk.out

openapi: deps ## rewrite docs/openapi.json from the routes and validation rules
	$(PY) -m devtools.openapi

backfill verify prune: deps ## register missing names / report drift (fails on drift) / unregister stale names
	$(PY) -m devtools.backfill_cli $@

bench: deps ## the benchmarks on DynamoDB Local; writes docs/BENCHMARKS.md
	$(PY) -m benchmarks $(BENCH_ARGS)

clean: ## remove installed tools and caches (keeps local data)
	rm -rf $(VENV) node_modules cdk.out .mypy_cache .ruff_cache .pytest_cache

# DynamoDB Local with -sharedDb keeps every table in this one file.
clean-data: ## delete the local DynamoDB data of make run (stop make run first)
	rm -f "$${LOCAL_DATA_DIR:-.local/dynamodb}/shared-local-instance.db"
