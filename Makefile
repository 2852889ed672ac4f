# Two entry points for a newcomer: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test lint bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## Set up SQLite with demo data, print an admin login once, serve on 127.0.0.1:8000.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py create_operator
	$(BIN)/python manage.py runserver 127.0.0.1:8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Lint, then the whole suite on whatever DATABASE_URL and CACHE_URL say (SQLite by default).
test: lint
	$(BIN)/python -m pytest

## Benchmarks on PostgreSQL and Redis at 127.0.0.1 (about 20 minutes); writes docs/benchmarks.md.
bench: install
	$(BIN)/python -m benchmarks.run
