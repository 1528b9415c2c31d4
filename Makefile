# The two commands a newcomer runs: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test lint db-stop

$(BIN)/python:
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

## make run: embedded PostGIS, migrations, demo data once, gunicorn behind nginx on 127.0.0.1:8000
run:
	scripts/devdb.sh packages nginx
	$(MAKE) --no-print-directory $(VENV)/.runtime
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/serve.sh

## make test: the same set-up, then lint, the layering contract and the whole suite on a real PostGIS
test:
	scripts/devdb.sh packages chromium nginx
	$(MAKE) --no-print-directory $(VENV)/.dev
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/test.sh $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

db-stop:
	scripts/devdb.sh stop
