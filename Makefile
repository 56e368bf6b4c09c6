# The two commands a new user needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export FAIRMEET_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test lint typecheck bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/fairmeet db upgrade
	$(BIN)/fairmeet demo
	$(BIN)/fairmeet serve --host $(HOST) --port $(PORT)

# Debian packages the tests drive: Chromium for the browser tests, coturn for the TURN tests.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v turnserver >/dev/null 2>&1 || [ -x /usr/bin/turnserver ] || missing="$$missing coturn"; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

test: $(VENV)/.installed-test system-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/booking_race.py
	$(BIN)/python benchmarks/recruiter_list.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
