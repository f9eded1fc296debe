# Two commands: `make run` serves the app on SQLite, `make test` runs the whole suite (`make lint`: the gates).
# Both set up everything they need first (venv, install, migrations).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
export MS_DATABASE_URL ?= sqlite+aiosqlite:///var/governance.db

.PHONY: run test lint setup migrate browser bench clean

$(STAMP): pyproject.toml setup.py tracking/_rewrite.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

migrate: setup
	@mkdir -p var
	$(PY) -m governance database upgrade --no-prompt

# A dev admin is created only when asked: MS_DEV_ADMIN_EMAIL and MS_DEV_ADMIN_PASSWORD.
run: migrate
	@if [ -n "$$MS_DEV_ADMIN_EMAIL" ]; then \
		printf '%s\n' "$$MS_DEV_ADMIN_PASSWORD" | $(PY) -m governance users create --email "$$MS_DEV_ADMIN_EMAIL" --role admin --role privacy_staff --if-missing; \
	fi
	$(VENV)/bin/granian --interface asgi --host $(HOST) --port $(PORT) --workers 1 governance.asgi:app

# Debian's Chromium for the browser tests; without it (and without root to install it) they skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: the browser tests will be skipped (apt-get install chromium)"; }

test: setup browser
	$(PY) -m pytest $(PYTEST_ARGS)

# The quality gates CI runs before the tests: ruff's rules and formatting, and mypy on the app packages.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache build tracking/_rewrite.*.so
