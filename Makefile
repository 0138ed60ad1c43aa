# The two commands of the README: `make run` (demo on this machine) and `make test` (what CI runs).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.13 2>/dev/null || echo python)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
SANDBOX_PORT ?= 8765
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/hubportal
# The demo talks to the sandbox started by `make run`; set these (e.g. in the environment) to
# point at HubSpot instead. With the default HOST and SANDBOX_PORT they equal the defaults of
# hubportal/settings.py, so a worker started by hand (README) reaches the same sandbox.
HUBSPOT_API_BASE_URL ?= http://$(HOST):$(SANDBOX_PORT)
HUBSPOT_APP_BASE_URL ?= http://$(HOST):$(SANDBOX_PORT)
export HUBSPOT_API_BASE_URL HUBSPOT_APP_BASE_URL

.PHONY: run test lint install messages clean

$(PY):
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "Python 3.12+ is needed (pyenv: 3.13.0, see .python-version)"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

messages: install
	$(PY) manage.py compilemessages --ignore=.venv >/dev/null

# Starts the HubSpot sandbox, the task worker and the web server; Ctrl+C stops all three.
# The demo is the sandbox's: it is installed for make run whatever the environment says.
run: export HUBPORTAL_SANDBOX = true
run: install messages
	$(PY) manage.py migrate --no-input
	$(PY) manage.py demo_user
	@# HubSpot matches redirect URIs exactly: register this run's callback with the sandbox app.
	$(PY) manage.py shell -v 0 -c "from sandbox.seed import seed_demo, register_redirect_uri; seed_demo(); register_redirect_uri('http://$(HOST):$(PORT)/hubspot/oauth/callback')"
	@mkdir -p var
	@# The trap clears itself first: kill 0 signals this shell too, and a trap that fires
	@# again from inside itself recursed until the shell crashed ("Segmentation fault").
	@trap 'trap - EXIT INT TERM; kill 0' EXIT INT TERM; \
	$(PY) manage.py sandbox --host $(HOST) --port $(SANDBOX_PORT) > var/sandbox.log 2>&1 & \
	for _ in $$(seq 100); do (: <>/dev/tcp/$(HOST)/$(SANDBOX_PORT)) 2>/dev/null && break; sleep 0.2; done; \
	$(PY) manage.py worker > var/worker.log 2>&1 & \
	echo ""; \
	echo "  hubportal is starting: open http://$(HOST):$(PORT)/  (sandbox: http://$(HOST):$(SANDBOX_PORT)/sandbox/)"; \
	echo "  logs: var/sandbox.log, var/worker.log; stop with Ctrl+C"; \
	echo ""; \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run

# The official Node SDK the SDK tour runs (tests/sdk/), from the lockfile; again whenever
# package.json or package-lock.json changes. Needs Node 20 and npm.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Everything CI runs: linters, type checks, Django checks, the whole suite on SQLite
# (browser and heavy tests, the SDK tours among them, included), then the suite again on
# PostgreSQL (without them).
test: lint messages node_modules/.installed
	$(PY) -m pytest
	DATABASE_URL=$(POSTGRES_URL) $(PY) -m pytest -m "not e2e and not heavy" -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest-db var node_modules
