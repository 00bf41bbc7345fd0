# Bulkhead: every target installs what it needs (as root, on Debian) and is safe to run again.
#   make demo   harden and audit a disposable local target, write reports/
#   make test   lint, unit tests, integration tests, every molecule scenario
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3
BIN := $(CURDIR)/$(VENV)/bin
STAMPS := .stamps
COLLECTION := collections/ansible_collections/bulkhead/hardening
# Python programs the roles install without a .py suffix: ruff finds them only when they are named.
ROLE_SCRIPTS := $(shell grep -rlE --exclude='*.py' '^\#!.*python' $(COLLECTION)/roles/*/files 2>/dev/null)
SCENARIOS := $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help deps constraints engine host-tools images lint unit integration molecule molecule-% sanity test demo bench mutation docs collection ee-context ee clean

help:
	@echo "make demo        harden and audit a disposable local target; reports in reports/"
	@echo "make test        lint, unit, integration, sanity and molecule tests (what CI runs)"
	@echo "make lint        ruff, yamllint, ansible-lint (production profile)"
	@echo "make unit        unit tests only"
	@echo "make sanity      ansible-test sanity for the collection"
	@echo "make molecule    every molecule scenario: $(SCENARIOS)"
	@echo "make molecule-X  one scenario"
	@echo "make mutation    mutation testing of the checks and module_utils (mutmut; not in make test)"
	@echo "make docs        regenerate README.md's control table, the collection README's role table, every role's README.md"
	@echo "make collection  the collection tarball in dist/ (ansible-galaxy collection build)"
	@echo "make ee-context  the execution environment's build context in build/ee/context (ansible-builder create)"
	@echo "make ee          the execution environment image bulkhead-ee:latest (needs a pullable base image)"
	@echo "make constraints re-pin constraints.txt from the venv (after changing dependencies)"
	@echo "make bench       time full audits with 0, 50, 200 and 500 containers, history disk use, SBOM and image-assurance cost, events recorder cost (bench/RESULTS.md)"

$(STAMPS):
	@mkdir -p $@

# The venv is rebuilt when pyproject.toml or constraints.txt changes: the package with its runtime
# dependencies, Ansible ([ansible]) and the test tools ([test]), at the versions in constraints.txt.
# The distribution was called `bulkhead` before (a name taken on the index by another project):
# an old install of ours under that name goes first.
$(STAMPS)/venv: pyproject.toml constraints.txt | $(STAMPS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@if $(BIN)/pip show bulkhead 2>/dev/null | grep -q '^Summary: Container-host hardening'; then \
		$(BIN)/pip uninstall --quiet --yes bulkhead; fi
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,ansible]'
	@touch $@

deps: $(STAMPS)/venv

engine:
	@bash scripts/ensure-docker.sh

host-tools:
	@bash scripts/ensure-host-tools.sh
	@bash scripts/podman-engines.sh install

images: engine
	@bash scripts/build-test-images.sh

lint: deps
	$(BIN)/ruff check . $(ROLE_SCRIPTS)
	$(BIN)/ruff format --check . $(ROLE_SCRIPTS)
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production --offline

unit: deps
	$(BIN)/pytest -q tests/unit $(COLLECTION)/tests/unit

# ansible-test sanity for the collection, offline from Galaxy (scripts/sanity.sh explains how).
sanity: deps
	@bash scripts/sanity.sh

integration: deps engine host-tools
	$(BIN)/pytest -q tests/integration

molecule: $(addprefix molecule-,$(SCENARIOS))

# Every scenario's molecule.yml is merged over the shared base (platform, driver, provisioner, verifier).
MOLECULE_BASE := .config/molecule/config.yml

molecule-%: deps images
	$(BIN)/molecule --base-config $(MOLECULE_BASE) test --scenario-name $*

test: lint unit sanity integration molecule
	@echo "make test: all passed"

demo: deps images
	@bash scripts/demo.sh

# Not part of `make test`: speed is measured here, never asserted in tests.
bench: deps engine
	$(BIN)/python bench/bench.py --write
	$(BIN)/python bench/bench.py --docker-only --no-gate --counts 50,500 --write
	$(BIN)/python bench/history_disk.py --write
	$(BIN)/python bench/fleet.py --write
	flock /tmp/bulkhead-integration.lock $(BIN)/python bench/image_bench.py --write
	$(BIN)/python bench/recorder.py --write

# Not part of `make test`: the score and the survivors worth keeping go in bench/RESULTS.md.
mutation: deps
	@bash scripts/mutation.sh

# Generated docs: README.md's control table, the collection README's role table and every role's README.md
# (from meta/argument_specs.yml): a new role gets its README here. tests/unit/test_docs.py fails when stale.
docs: deps
	$(BIN)/python scripts/render_docs.py

# The collection as Galaxy gets it (tests/integration/test_collection_release.py imports and installs one).
collection: deps
	$(BIN)/ansible-galaxy collection build --force --output-path dist $(COLLECTION)

# The execution environment for AWX: its build context (collection tarball and wheel from this checkout,
# ansible-builder from a cached tool venv; nothing is pulled). `make ee` builds the image from it, with
# podman or docker, where the base image can be pulled: not on these machines.
EE_CONTEXT := build/ee
EE_IMAGE ?= bulkhead-ee:latest
ee-context: deps
	$(BIN)/python scripts/ee_context.py $(EE_CONTEXT)

ee: ee-context
	$$(command -v podman || command -v docker) build -f $(EE_CONTEXT)/context/Containerfile -t $(EE_IMAGE) $(EE_CONTEXT)/context

# Not part of `make test`: after a dependency change, pin what the venv now holds (then commit it).
constraints:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test,ansible]'
	$(BIN)/python scripts/constraints.py
	@mkdir -p $(STAMPS) && touch $(STAMPS)/venv

clean:
	rm -rf $(VENV) $(STAMPS) reports dist build/ee
