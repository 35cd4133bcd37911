# fls-report: one entry point. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PARAMS ?= params/demo.yml
DEMO_DATA := data/synthetic/fls_extract_2016.csv data/synthetic/services.csv

.DEFAULT_GOAL := help
.PHONY: help install report demo-data test clean

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

$(DEMO_DATA): | $(STAMP)
	$(BIN)/fls-report synth --out data/synthetic

## demo-data: write the synthetic demonstration extract and services file (if absent)
demo-data: $(DEMO_DATA)

## report: set everything up and build the demo site (PARAMS=params/other.yml for another run)
report: $(STAMP) $(if $(filter $(PARAMS),params/demo.yml),$(DEMO_DATA))
	$(BIN)/fls-report build $(PARAMS)

## test: set everything up and run the test suite
test: $(STAMP)
	$(BIN)/python -m pytest

## clean: remove the demo outputs and synthetic data (keeps .venv)
clean:
	rm -rf output/demo data/synthetic
