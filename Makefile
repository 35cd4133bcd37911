# fls-report: one entry point. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PARAMS ?= params/demo.yml
DEMO_DATA := data/synthetic/fls_extract_2016.csv data/synthetic/services.csv
DEMO_2017_DATA := data/synthetic-2017/fls_extract_2017.csv data/synthetic-2017/services.csv
# The webtool files have spaces in their names; services.csv is written after them, so it marks them all.
DEMO_WEBTOOL_DATA := data/synthetic-webtool/services.csv

.DEFAULT_GOAL := help
.PHONY: help install report report-2017 report-webtool demo-data test test-fast bench bench-against clean

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed -e 's/^## /  make /' -e 's/: / — /'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## install: make .venv and install the package with its test tools
install: $(STAMP)

# The demo data are rewritten when the generator changes, so a pull never builds on stale patients.
$(DEMO_DATA) &: fls_report/synth.py | $(STAMP)
	$(BIN)/fls-report synth --out data/synthetic

## demo-data: write the synthetic demonstration extract and services file (if absent or older than the generator)
demo-data: $(DEMO_DATA)

## report: set everything up and build the demo site (PARAMS=params/other.yml for another run)
report: $(STAMP) $(if $(filter $(PARAMS),params/demo.yml),$(DEMO_DATA))
	$(BIN)/fls-report build $(PARAMS)

$(DEMO_2017_DATA) &: fls_report/synth.py | $(STAMP)
	$(BIN)/fls-report synth --year 2017 --out data/synthetic-2017

## report-2017: build the second demo year, compared with 2016 (builds 2016 first if needed)
report-2017: $(STAMP) $(DEMO_2017_DATA)
	test -f output/demo/tables/kpi_results.csv || $(MAKE) report
	$(BIN)/fls-report build params/demo-2017.yml

$(DEMO_WEBTOOL_DATA): fls_report/synth.py fls_report/synth_webtool.py | $(STAMP)
	$(BIN)/fls-report synth --format webtool --out data/synthetic-webtool

## report-webtool: build the demo from the same patients as FLS-DB webtool exports, one file per service (writes them if absent)
report-webtool: $(STAMP) $(DEMO_WEBTOOL_DATA)
	$(BIN)/fls-report build params/demo-webtool.yml

## test: set everything up and run the test suite
test: $(STAMP)
	$(BIN)/python -m pytest

## test-fast: the tests that build no site (under two minutes): for the edit-test loop; make test runs them all
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

## bench: time the builds (demo against the naive way, scale, 1M-record compute, rebuilds); writes benchmarks/results.md
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

## bench-against: time the demo pages against another commit, alternating in pairs (REF=<commit>, RUNS=4)
bench-against: $(STAMP)
	$(BIN)/python benchmarks/bench.py --against $(REF) --runs $(or $(RUNS),4)

## clean: remove the demo outputs and synthetic data (keeps .venv)
clean:
	rm -rf output/demo output/demo-2017 output/demo-webtool data/synthetic data/synthetic-2017 data/synthetic-webtool
