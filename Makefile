# The two set-up commands of the README: `make up` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up test install engines cluster cluster-down cluster-status lint typecheck check clean

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

# The engines of the cluster shape (PostgreSQL, Redis) from Debian's packages, installed only
# when their binaries are missing. The packages' own service (Debian's "main" cluster on 5432,
# the redis-server service) is never started by us: `roost cluster up` runs its own instances
# from these binaries in a state folder, and no test uses anything else. Without root and
# without password-less sudo it only warns: the cluster tests then skip and say why.
PG_SERVER := $(firstword $(wildcard /usr/lib/postgresql/*/bin/postgres))
ENGINES_MISSING := $(if $(PG_SERVER),,postgresql) $(if $(shell command -v redis-server),,redis-server)
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

engines:
ifneq ($(strip $(ENGINES_MISSING)),)
	@echo "installing $(strip $(ENGINES_MISSING)) from Debian's packages"
	@if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	 else echo "warning: cannot install $(strip $(ENGINES_MISSING)) without root; the cluster tests will skip"; exit 0; fi; \
	 log=$$(mktemp); ($$SUDO apt-get update -qq && $$SUDO env $(APT_INSTALL) $(ENGINES_MISSING)) >$$log 2>&1 \
	 || { cat $$log; rm -f $$log; echo "error: installing $(strip $(ENGINES_MISSING)) failed"; exit 1; }; rm -f $$log
else
	@:
endif

# The cluster shape on this machine: PostgreSQL shard primaries with a streaming replica each,
# Redis, migrated, and roost serving on them (`roost cluster up`; a second run restarts only
# what died). CLUSTER_DIR holds cluster.toml, secrets, PIDs, data and logs.
CLUSTER_DIR ?= cluster
SHARDS ?= 2
REPLICAS ?= 1
PROCESSES ?= 1

cluster: $(STAMP) engines
	$(BIN)/roost cluster up --shards $(SHARDS) --replicas $(REPLICAS) --processes $(PROCESSES) \
	  --state-dir $(CLUSTER_DIR) $(call given,PORT,--port)

cluster-status: $(STAMP)
	$(BIN)/roost cluster status --state-dir $(CLUSTER_DIR)

cluster-down: $(STAMP)
	$(BIN)/roost cluster down --state-dir $(CLUSTER_DIR)

test: $(STAMP) engines
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
