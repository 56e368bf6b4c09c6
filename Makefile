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

# Browser files the video room serves itself (background blur: MediaPipe's selfie segmentation model and
# its wasm runtime, ~12 MB), installed from npm and copied into web/static/vendor (gitignored). Without
# npm the room works and says that background effects are unavailable.
SEGMENTATION := @mediapipe/selfie_segmentation@0.1.1675465747
VENDOR_DIR := web/static/vendor/selfie_segmentation
$(VENDOR_DIR)/.installed: Makefile
	@if command -v npm >/dev/null 2>&1; then \
	  rm -rf $(VENV)/npm $(VENDOR_DIR) && mkdir -p $(VENV)/npm $(VENDOR_DIR) && \
	  npm install --silent --no-audit --no-fund --no-package-lock --prefix $(VENV)/npm $(SEGMENTATION) && \
	  cp $(VENV)/npm/node_modules/@mediapipe/selfie_segmentation/*.js $(VENV)/npm/node_modules/@mediapipe/selfie_segmentation/*.wasm \
	     $(VENV)/npm/node_modules/@mediapipe/selfie_segmentation/*.tflite $(VENV)/npm/node_modules/@mediapipe/selfie_segmentation/*.binarypb \
	     $(VENV)/npm/node_modules/@mediapipe/selfie_segmentation/*.data $(VENV)/npm/node_modules/@mediapipe/selfie_segmentation/package.json \
	     $(VENDOR_DIR)/ && touch $@; \
	else echo "npm not found: the video room will run without background effects (apt-get install npm)"; fi

# axe-core, the accessibility rules engine the browser tests inject into every page (tests/e2e/test_accessibility.py),
# from npm into a prefix of its own (the segmentation target above clears .venv/npm) and copied next to the venv:
# test-only, never served from web/static. Without npm the accessibility test skips, or fails under FAIRMEET_REQUIRE_SERVICES=1.
AXE := axe-core@4.10.3
AXE_JS := $(VENV)/axe/axe.min.js
$(AXE_JS): Makefile
	@if command -v npm >/dev/null 2>&1; then \
	  rm -rf $(VENV)/npm-axe $(VENV)/axe && mkdir -p $(VENV)/npm-axe $(VENV)/axe && \
	  npm install --silent --no-audit --no-fund --no-package-lock --prefix $(VENV)/npm-axe $(AXE) && \
	  cp $(VENV)/npm-axe/node_modules/axe-core/axe.min.js $(VENV)/npm-axe/node_modules/axe-core/LICENSE $(VENV)/axe/; \
	else echo "npm not found: the accessibility test will not run (apt-get install npm)"; fi

run: $(VENV)/.installed $(VENDOR_DIR)/.installed
	$(BIN)/fairmeet db upgrade
	$(BIN)/fairmeet demo
	$(BIN)/fairmeet serve --host $(HOST) --port $(PORT)

# Debian packages the tests drive: Chromium for the browser tests, coturn for the TURN tests, Kannel (bearerbox,
# smsbox, and fakesmsc from kannel-extras) and Net::SMPP for the text-message gateway tests; Caddy, Prometheus and
# redis-server for the production-topology and reliability tests (tests/deploy, tests/reliability).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v turnserver >/dev/null 2>&1 || [ -x /usr/bin/turnserver ] || missing="$$missing coturn"; \
	[ -x /usr/sbin/bearerbox ] && [ -x /usr/sbin/smsbox ] || missing="$$missing kannel"; \
	[ -x /usr/lib/kannel/test/fakesmsc ] || missing="$$missing kannel-extras"; \
	perl -MNet::SMPP -e1 >/dev/null 2>&1 || missing="$$missing libnet-smpp-perl"; \
	command -v caddy >/dev/null 2>&1 || missing="$$missing caddy"; \
	command -v prometheus >/dev/null 2>&1 || missing="$$missing prometheus"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

test: $(VENV)/.installed-test system-deps $(VENDOR_DIR)/.installed $(AXE_JS)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/booking_race.py
	$(BIN)/python benchmarks/recruiter_list.py
	$(BIN)/python benchmarks/room_join.py
	$(BIN)/python benchmarks/signaling_load.py
	$(BIN)/python benchmarks/queue_load.py
	$(BIN)/python benchmarks/roster_import.py
	$(BIN)/python -m benchmarks.request_overhead

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache web/static/vendor
