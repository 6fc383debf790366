# navbat — the two commands: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 8000
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
export DATABASE_URL

.PHONY: demo test test-db lint install install-dev messages bench clean

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

## Install the dev dependencies and run the whole suite: lint, types, unit, property and database tests.
test: install-dev lint
	$(BIN)/python -m pytest

## The database tests alone (CI runs them again with DATABASE_URL=postgres://…).
test-db: install-dev
	$(BIN)/python -m pytest -m database

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

clean:
	rm -rf $(VENV) var staticfiles
