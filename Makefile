# Two commands do all the set-up on a fresh machine:
#   make demo   install, start two local Kubernetes control planes with nodes, apply the sample repository and
#               wait for every agent
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
	$(BIN)/reconciler apply sample-repo --kubeconfig $(DEMO)/kubeconfig --wait 120
	@echo
	@echo "The sample landscape runs on two local clusters with simulated nodes; every agent is Available. Try:"
	@echo "  export KUBECONFIG=$$(pwd)/$(DEMO)/kubeconfig"
	@echo "  kubectl --context gpu -n ml-prod get resourcequota,limitrange,rolebinding,deployment"
	@echo "  kubectl --context gpu -n ml-prod get pods -o wide   # on the CPU nodes, not the A100 ones"
	@echo "  $(BIN)/reconciler plan sample-repo"
	@echo "Stop the clusters with: make demo-down"

demo-down:
	scripts/testenv down --dir $(DEMO)

test: install
	scripts/testenv build
	$(BIN)/pytest -q tests

unit: install
	$(BIN)/pytest -q tests/unit tests/cli

lint: install
	$(BIN)/ruff check reconciler tests testenv bench
	$(BIN)/mypy

bench: install
	scripts/testenv build
	$(BIN)/python bench/render.py
	$(BIN)/python bench/diff.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/converge.py
	$(BIN)/python bench/controller.py

clean:
	rm -rf $(VENV) .state build *.egg-info
