# Parcelflow: every command a developer or CI needs. `make demo` and `make test` bootstrap themselves.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench build deploy clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (the Lambda runtime is python3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m infra.local.demo

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml
	$(PY) -m infra.lint_translated

bench: $(STAMP)
	$(PY) -m infra.local.bench

# `sam build` runs from its own virtualenv (aws-sam-cli pins an older boto3) and needs no Docker:
# the python3.11 runtime matches this machine's interpreter, and the layer is built from shared/requirements.txt.
SAM_VENV := .venv-sam
$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli

build: $(SAM_VENV)/bin/sam
	$(SAM_VENV)/bin/sam build

deploy: build
	$(SAM_VENV)/bin/sam deploy --guided

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam out .pytest_cache .mypy_cache .ruff_cache
