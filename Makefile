# One-command workflows for a fresh clone: `make run`, `make test`, `make bench`.
# Every target installs what it needs first (a virtualenv and Azurite from npm).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
APP ?= .
PORT ?= 7071
PYTEST_ARGS ?=
# More options for the local host, e.g. HOST_ARGS="--replay-processes 0" (python -m devhost run -h).
HOST_ARGS ?=

.PHONY: help setup run test lint typecheck unit e2e test-slow test-browser screenshots bench fcm-emulator clean package

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(PY_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

setup: $(PY_STAMP) $(NODE_STAMP)  ## Create the virtualenv and install Python and npm dependencies.

run: setup  ## Run the app on the local host with Azurite and the FCM emulator (Ctrl-C stops all).
	$(PY) -m devhost run --app $(APP) --port $(PORT) $(HOST_ARGS)

lint: $(PY_STAMP)  ## Lint with ruff, and the orchestrators with the determinism lint.
	$(PY) -m ruff check .
	$(PY) -m devhost lint .

typecheck: $(PY_STAMP)  ## Type-check with mypy.
	$(PY) -m mypy
	$(PY) -m mypy --strict devhost

test: setup lint typecheck  ## Lint, type-check and run the whole suite (unit, replay, e2e).
	$(PY) -m pytest -q $(PYTEST_ARGS)

unit: $(PY_STAMP)  ## Only the fast tests that need no Azurite.
	$(PY) -m pytest -q -m "not e2e and not slow and not azurite" $(PYTEST_ARGS)

test-slow: setup  ## The long fault and load trials.
	$(PY) -m pytest -q -m slow --run-slow $(PYTEST_ARGS)

test-browser: setup  ## The pages in headless Chromium (needs Debian's chromium: apt-get install chromium).
	$(PY) -m pytest -q --run-browser $(PYTEST_ARGS)

screenshots: setup  ## Run the browser tests and write the README's screenshots into docs/screenshots.
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest -q --run-browser $(PYTEST_ARGS)

bench: setup  ## Benchmarks against the published Durable Functions figures.
	$(PY) -m bench

fcm-emulator: $(PY_STAMP)  ## Run the FCM emulator alone on 127.0.0.1:9099.
	$(PY) -m fcm_emulator --host 127.0.0.1 --port 9099

clean:  ## Remove local state (Azurite data, generated keys) and caches.
	rm -rf .local .pytest_cache .mypy_cache .ruff_cache

# Deploy -------------------------------------------------------------------------------------
package: $(PY_STAMP)  ## Build dist/function-app.zip, what a zip deploy uploads (.funcignore honoured).
	$(PY) infra/package.py --output dist/function-app.zip
