# Airlock developer entry points. `make demo` and `make test` set up everything they need
# (virtualenv, Docker engine, images) on a fresh Debian machine run as root.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
AIRLOCK := $(BIN)/airlock
BUNDLES := $(sort $(wildcard task_bundles/*))
RESULTS ?= results
IMAGE ?=
DEMO_SAMPLES := random majority logreg

.PHONY: help setup docker images demo submit test test-unit lint format bench bench-scoring bench-leaderboard bench-runtimes bench-pool schemas docs-screenshot clean

help:
	@echo "make demo                  build everything, run the sample submissions on every sample bundle"
	@echo "make test                  set up, lint and run the whole test suite (what CI runs)"
	@echo "make submit IMAGE=my/model:tag   submit to your competition server (after airlock login), else a dry run on task_bundles/"
	@echo "make setup | images | lint | bench | bench-scoring | bench-leaderboard | bench-runtimes | bench-pool | clean"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

docker:
	scripts/ensure-docker.sh

images: setup docker
	scripts/build-images.sh

demo: images
	@for s in $(DEMO_SAMPLES); do \
	  echo "== airlock/sample-$$s"; \
	  $(AIRLOCK) run --image airlock/sample-$$s $(addprefix --bundle ,$(BUNDLES)) --results $(RESULTS)/demo || exit $$?; \
	done
	$(AIRLOCK) results table --results $(RESULTS)/demo
	$(AIRLOCK) leaderboard --results $(RESULTS)/demo --out $(RESULTS)/demo-leaderboard

submit: setup docker
	@test -n "$(IMAGE)" || { echo "usage: make submit IMAGE=my/model:tag"; exit 2; }
	@if $(AIRLOCK) submissions >/dev/null 2>&1; then \
	  $(AIRLOCK) submit $(IMAGE); \
	else \
	  $(AIRLOCK) run --image $(IMAGE) $(addprefix --bundle ,$(BUNDLES)) --results $(RESULTS) || exit $$?; \
	  echo "that was a dry run on the sample bundles; to submit for real: airlock login URL --token TOKEN (from your organizer), then make submit IMAGE=$(IMAGE)"; \
	fi

test: images lint
	scripts/ensure-browser.sh
	scripts/ensure-services.sh
	AIRLOCK_REQUIRE_DOCKER=1 AIRLOCK_REQUIRE_BROWSER=1 $(BIN)/pytest

test-unit: setup
	$(BIN)/pytest -m "not docker"

lint: setup
	$(BIN)/ruff check runner tests benchmarks images sample_submissions scripts
	$(BIN)/ruff format --check runner tests benchmarks images sample_submissions scripts
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format runner tests benchmarks images sample_submissions
	$(BIN)/ruff check --fix runner tests benchmarks images sample_submissions

schemas: setup
	for n in result protocol bundle competition; do $(AIRLOCK) schema $$n --out docs/schemas/$$n.schema.json; done

docs-screenshot: setup
	scripts/ensure-browser.sh
	scripts/ensure-services.sh
	$(BIN)/python scripts/screenshot.py $(RESULTS)/demo-leaderboard/leaderboard.html docs/leaderboard.png

bench: images
	$(BIN)/python benchmarks/overhead.py

bench-scoring: setup
	$(BIN)/python benchmarks/scoring.py

bench-leaderboard: setup
	$(BIN)/python benchmarks/leaderboard.py

bench-runtimes: images
	scripts/ensure-gvisor.sh
	$(BIN)/python benchmarks/runtimes.py

bench-pool: images
	scripts/ensure-services.sh
	$(BIN)/python benchmarks/pool_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(RESULTS)
