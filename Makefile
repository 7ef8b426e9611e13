# Two commands do all the set-up on a fresh machine:
#   make demo   install, start two local Kubernetes control planes, apply the sample repository
#   make test   install, build or reuse the control plane binaries, run unit and integration tests
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= .state/demo

.PHONY: install demo demo-down test unit lint bench clean

$(BIN)/reconciler: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/reconciler

demo: install
	$(BIN)/reconciler validate sample-repo
	scripts/testenv build
	@scripts/testenv status --dir $(DEMO) >/dev/null 2>&1 || scripts/testenv up --clusters shared,gpu --dir $(DEMO)
	$(BIN)/reconciler plan sample-repo --kubeconfig $(DEMO)/kubeconfig || test $$? -eq 2
	$(BIN)/reconciler apply sample-repo --kubeconfig $(DEMO)/kubeconfig
	@echo
	@echo "The sample landscape runs on two local clusters. Try:"
	@echo "  export KUBECONFIG=$$(pwd)/$(DEMO)/kubeconfig"
	@echo "  kubectl --context gpu -n ml-prod get resourcequota,limitrange,rolebinding,deployment"
	@echo "  $(BIN)/reconciler plan sample-repo"
	@echo "Stop the clusters with: make demo-down"

demo-down:
	scripts/testenv down --dir $(DEMO)

test: install
	scripts/testenv build
	$(BIN)/pytest -q tests

unit: install
	$(BIN)/pytest -q tests/unit

lint: install
	$(BIN)/ruff check reconciler tests testenv bench
	$(BIN)/mypy

bench: install
	scripts/testenv build
	$(BIN)/python bench/render.py
	$(BIN)/python bench/diff.py
	$(BIN)/python bench/converge.py

clean:
	rm -rf $(VENV) .state build *.egg-info
