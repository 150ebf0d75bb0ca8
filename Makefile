# Helpline: `make run` sets up and starts the desk; `make test` runs the whole suite.
#   make run [HOST=127.0.0.1] [PORT=8000] [RUN_ARGS="--no-demo"]
#   make test [ARGS="-k tickets"]    SQLite, then PostgreSQL when reachable
#   make lint                        ruff + mypy
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
RUN_ARGS ?=
ARGS ?=

.PHONY: install run check test test-sqlite test-postgres lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
		"Helpline needs Python 3.11 or newer: make PYTHON=python3.11 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/helpline run --host $(HOST) --port $(PORT) $(RUN_ARGS)

check: install
	$(BIN)/helpline check

test: install
	bash scripts/test.sh all $(ARGS)

test-sqlite: install
	bash scripts/test.sh sqlite $(ARGS)

test-postgres: install
	bash scripts/test.sh postgres $(ARGS)

lint: install
	$(BIN)/ruff check src bench
	$(BIN)/ruff format --check src bench
	$(BIN)/mypy src

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var build *.egg-info src/*.egg-info
