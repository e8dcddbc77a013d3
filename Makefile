# StepFlow Gateway. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench package install clean

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "pip>=23,<26.3"  # chalice 1.34 requires pip<26.3
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) scripts/run_local.py

test: lint
	@set -a; eval "$$($(PY) scripts/services.py test)"; set +a; \
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

LINT_PATHS := chalicelib app.py scripts bench

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/mypy $(LINT_PATHS)

bench: $(STAMP)
	@set -a; eval "$$($(PY) scripts/services.py test)"; set +a; \
	$(PY) -m bench $(BENCH)

# dist/$(STAGE)/: sam.yaml + deployment.zip; prints the zip's sizes and the connection budget,
# fails when the zip exceeds PACKAGE_BUDGET_MB (zipped) or the template breaks an infra rule.
package: $(STAMP)
	PACKAGE_BUDGET_MB=$(or $(PACKAGE_BUDGET_MB),40) bash infra/package.sh $(STAGE)

clean:
	rm -rf $(VENV) .pytest_cache build
