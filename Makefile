# Two entry points (see README): `make run` and `make test`. Both build the
# virtualenv in .venv from nothing when it is missing or pyproject.toml changed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# The real annotation files, when the team's shared folder sits beside the checkout.
RLX_DATASETS_META ?= $(wildcard $(abspath ../shared/datasets-meta))
export RLX_DATASETS_META

.PHONY: setup run test test-fast lint format bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@echo "installing rlx and its pinned dependencies into $(VENV) (log: $(VENV)/pip.log)"
	$(VENV)/bin/pip install -e '.[dev]' > $(VENV)/pip.log 2>&1 || { grep -v "is ignored" $(VENV)/pip.log | tail -40; exit 1; }
	$(PY) -c "import rlx, torch, torchvision, ray, mlflow, decord, av, cv2, timm"
	touch $@

setup: $(VENV)/.installed

# The main job on the embedded default: the smoke search (synthetic videos -> Ray Data -> Ray Tune/Train
# -> MLflow), then its report, made once: logged to MLflow and kept in reports/smoke. --resume makes a rerun
# continue an interrupted search (finished trials are kept) instead of starting over.
run: setup
	$(PY) -m rlx.tune --space tune_spaces/smoke.yaml --resume --report-dir reports/smoke
	@echo
	@echo "report:    reports/smoke/index.html (one page, opens from disk) and reports/smoke/README.md"
	@echo "MLflow UI: $(PY) -m mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlruns.db --host 127.0.0.1 --port 5000"
	@echo "           then open http://127.0.0.1:5000 (experiment 'smoke')"

# The whole suite, slow end-to-end tests included (what CI runs).
test: setup
	$(PY) -m pytest

# Formatting and lint (ruff, configured in pyproject.toml); .ci/run fails on either before running the tests.
lint: setup
	$(VENV)/bin/ruff format --check rlx tests
	$(VENV)/bin/ruff check rlx tests

format: setup
	$(VENV)/bin/ruff format rlx tests
	$(VENV)/bin/ruff check --fix rlx tests

test-fast: setup
	$(PY) -m pytest -m "not slow"

bench: setup
	$(PY) -m rlx.bench all

clean:
	rm -rf $(VENV) .pytest_cache
