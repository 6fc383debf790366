# navbat — the two commands: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 8000
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
export DATABASE_URL

.PHONY: demo test test-db lint install install-dev browser messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install -c constraints.txt -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -c constraints.txt -e '.[dev]'
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Install, migrate the SQLite database under var/, build the demo clinic if empty, serve on 127.0.0.1:$(PORT).
demo: install
	$(BIN)/navbat migrate --no-input
	$(BIN)/navbat demo
	$(BIN)/navbat serve --port $(PORT)

## Install the dev dependencies and run the whole suite: lint, types, unit, property, database and browser tests.
test: install-dev browser lint
	$(BIN)/python -m pytest

## The database tests alone, browser tests included (CI runs them again with DATABASE_URL=postgres://…).
test-db: install-dev browser
	$(BIN)/python -m pytest -m database

## Debian's Chromium for the browser tests (tests/browser), which Playwright drives: `playwright install`
## cannot download its own browsers here. Installed only when missing; as root, else say what to run.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
		else \
			echo "The browser tests need Debian's chromium at /usr/bin/chromium. Install it as root:" >&2; \
			echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium" >&2; \
			exit 1; \
		fi; \
	fi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy navbat tests benchmarks

## Recompile the translation catalogues after editing navbat/locale/*/LC_MESSAGES/django.po
messages: install-dev
	$(BIN)/python -m navbat.i18n_tools compile

bench: install-dev
	$(BIN)/python benchmarks/slot_search.py
	$(BIN)/python benchmarks/patient_search.py
	$(BIN)/python benchmarks/reminders.py

clean:
	rm -rf $(VENV) var staticfiles
