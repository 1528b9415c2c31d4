# The two commands a newcomer runs: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test lint db-stop locks

# What gets installed is the locks, never requirements*.txt: every package, pip and setuptools included, pinned
# with the hashes of its files (pip refuses a file whose hash is not there) and taken as a wheel only, so nothing
# is built from source with build tools that no hash covers. The venv's own pip installs the first lock.
PIP_INSTALL := $(BIN)/pip install -q --require-hashes --only-binary :all:

$(BIN)/python:
	python3 -m venv $(VENV)

$(VENV)/.runtime: requirements.lock | $(BIN)/python
	$(PIP_INSTALL) -r requirements.lock
	touch $@

$(VENV)/.dev: requirements.lock requirements-dev.lock $(VENV)/.runtime
	$(PIP_INSTALL) -r requirements-dev.lock
	touch $@

## node_modules/.installed: the front-end libraries of package-lock.json (README.md, Dependencies), each checked
## against its integrity hash; --ignore-scripts: no install script of any package runs. The app serves them itself.
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

## make locks: after editing requirements*.txt, pin again with every file's hash (pins that still fit are kept;
## LOCK_ARGS=--upgrade moves every package to its newest release, LOCK_ARGS="-P NAME" one package)
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
locks: $(VENV)/.dev
	CUSTOM_COMPILE_COMMAND="make locks" $(BIN)/pip-compile $(LOCK_FLAGS) -o requirements.lock requirements.txt
	CUSTOM_COMPILE_COMMAND="make locks" $(BIN)/pip-compile $(LOCK_FLAGS) -o requirements-dev.lock requirements-dev.txt

## make run: embedded PostGIS, migrations, demo data once, gunicorn behind nginx on 127.0.0.1:8000
run:
	scripts/devdb.sh packages nginx npm
	$(MAKE) --no-print-directory $(VENV)/.runtime node_modules/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/serve.sh

## make test: the same set-up, then lint, the layering contract and the whole suite on a real PostGIS
test:
	scripts/devdb.sh packages chromium fonts-noto-cjk gdal-bin nginx npm python3-gdal
	$(MAKE) --no-print-directory $(VENV)/.dev node_modules/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/test.sh $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

db-stop:
	scripts/devdb.sh stop
