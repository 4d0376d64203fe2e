# Set-up and the two everyday commands. `make run` and `make test` set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
GERMANWINGS ?= ../shared/data/pheme/fullthreads/germanwings-crash.jsonl

.PHONY: setup run test lint clean

setup: $(STAMP)

# torch first, the CPU wheel pinned: a bare `torch` requirement would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The main job: ingest a real incident's posts, list its narratives, ask what looks like
# a claim; then replay the incident in event time to see which narratives would have
# alerted, and plot its first six hours to germanwings.png.
run: setup
	$(BIN)/claimwatch ingest $(GERMANWINGS) --config examples/germanwings.toml
	$(BIN)/claimwatch narratives --incident germanwings --limit 15 --config examples/germanwings.toml
	$(BIN)/claimwatch query "the co-pilot deliberately crashed the plane" -k 5 --incident germanwings --config examples/germanwings.toml
	rm -rf germanwings-replay.db* germanwings-replay-indexes
	$(BIN)/claimwatch replay $(GERMANWINGS) --config examples/germanwings.toml --db germanwings-replay.db
	$(BIN)/claimwatch plot germanwings --db germanwings-replay.db --hours 6 -o germanwings.png --config examples/germanwings.toml

lint: setup
	$(BIN)/ruff check tracker alerts tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) claimwatch.db* germanwings.db* germanwings-replay* germanwings.png indexes/claims.*
