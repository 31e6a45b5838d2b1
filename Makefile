# Parcelflow: every command a developer or CI needs. `make demo` and `make test` bootstrap themselves.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench chaos build deploy clean venv up down browser console-deploy

# The SAM CLI and translator live in their own virtualenv: they pin other pydantic and boto3 versions.
SAM_VENV := .venv-sam
CONSOLE_NODE := console/node_modules/.installed

venv: $(STAMP)

$(STAMP): pyproject.toml shared/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (the Lambda runtime is python3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m infra.local.demo

# The local stack until stopped: Ctrl-C, or `make up DETACH=1` then `make down` (docs/local-stack.md).
up: $(STAMP)
	$(PY) -m infra.local.up $(if $(SEED),--seed $(SEED)) $(if $(DETACH),--detach)

down: $(STAMP)
	$(PY) -m infra.local.up --stop

test: $(STAMP) browser
	$(PY) -m pytest

lint: $(STAMP) $(SAM_VENV)/bin/sam $(CONSOLE_NODE)
	cd console && npx --no-install biome check web
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml
	# The SAM translator pins its own pydantic: the translated template is linted from the SAM venv.
	$(SAM_VENV)/bin/python -m infra.lint_translated

bench: $(STAMP)
	$(PY) -m infra.local.bench


# The web console's tests drive Debian's Chromium (Playwright's own browser download is not used).
# Chromium, and a CJK font so that the screenshots show the Chinese interface (not empty boxes).
browser:
	@{ command -v chromium >/dev/null && fc-list :lang=zh | grep -q . ; } || { \
	  echo "installing Debian's chromium and a Chinese font for the web console's tests"; \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

# The console's dev tools (Biome): npm ci from the lock file.
$(CONSOLE_NODE): console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $(CONSOLE_NODE)

# After `sam deploy`: the console's files into its bucket, with its config.json (docs/console.md).
console-deploy: $(STAMP)
	@test -n "$(STACK)" || { echo "usage: make console-deploy STACK=<the stack sam deploy made>"; exit 2; }
	$(PY) -m infra.console_site --stack $(STACK)

$(SAM_VENV)/bin/sam:
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli

# No Docker needed: the python3.11 runtime matches this machine's interpreter, and the shared layer is
# built from shared/requirements.txt.
build: $(SAM_VENV)/bin/sam
	$(SAM_VENV)/bin/sam build

deploy: build
	$(SAM_VENV)/bin/sam deploy --guided

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam out .pytest_cache .mypy_cache .ruff_cache

# 1,000 orders through the local stack with duplicates, kills, carrier faults, 429 storms and buyers
# cancelling at every stage (infra/local/chaos.py, decision 68): CHAOS_ORDERS=200 CHAOS_SEED=7 to vary.
CHAOS_ORDERS ?= 1000
CHAOS_SEED ?= 1
chaos: $(STAMP)
	$(PY) -m infra.local.chaos --orders $(CHAOS_ORDERS) --seed $(CHAOS_SEED)
