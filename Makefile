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
CHROMIUM ?= $(or $(HELPLINE_CHROMIUM),/usr/bin/chromium)
ARGS ?=

.PHONY: install run check test test-sqlite test-postgres browser lint bench clean

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

test: install browser
	bash scripts/test.sh all $(ARGS)

test-sqlite: install browser
	bash scripts/test.sh sqlite $(ARGS)

test-postgres: install browser
	bash scripts/test.sh postgres $(ARGS)

# The browser tests drive Debian's headless Chromium (never a downloaded one): install it
# with apt-get when it is missing.
browser:
	@test -x "$(CHROMIUM)" || { \
		echo "Installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium; }
	@test -x "$(CHROMIUM)" || { echo "No Chromium at $(CHROMIUM): apt-get install chromium" \
		"(or set HELPLINE_CHROMIUM)" >&2; exit 1; }

lint: install
	$(BIN)/ruff check src bench
	$(BIN)/ruff format --check src bench
	$(BIN)/mypy src

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var build *.egg-info src/*.egg-info
