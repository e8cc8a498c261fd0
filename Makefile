# The two entry points are `make demo` (main job on the local default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup deps venv tools test demo bench env-up env-down env-status env-run collection clean

setup: deps venv tools

deps:
	@bash tests/localenv/deps.sh

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt test-requirements.txt
	@echo "[setup] creating $(VENV) and installing Python requirements"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install -q --disable-pip-version-check -r test-requirements.txt
	@touch $@

tools:
	@bash tests/localenv/build.sh all

test: setup
	$(PY) tests/run.py $(ARGS)

demo: setup
	$(PY) tests/localenv/demo.py $(ARGS)

bench: setup
	$(PY) bench/run.py $(ARGS)

env-up: setup
	$(PY) tests/localenv/localenv.py up

# make env-run CMD="kubectl get nodes -o wide"
env-run:
	$(PY) tests/localenv/localenv.py run -- $(CMD)

env-down:
	$(PY) tests/localenv/localenv.py down

env-status:
	$(PY) tests/localenv/localenv.py status

collection: venv
	$(VENV)/bin/ansible-galaxy collection build --force --output-path .build/dist

clean:
	rm -rf .build
