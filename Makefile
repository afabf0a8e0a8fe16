# The two set-up commands of the README: `make up` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up test install lint typecheck check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# `make up PORT=8081 HOST=0.0.0.0`: only values given on the command line are passed
# (a shell's own HOST or PORT variable is not), else roost's defaults and ROOST_* apply.
given = $(if $(filter command line,$(origin $(1))),$(2) $($(1)))

up: $(STAMP)
	$(BIN)/roost up $(call given,HOST,--host) $(call given,PORT,--port)

test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
