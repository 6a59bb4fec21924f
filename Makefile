PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,parquet]'
	touch $(STAMP)

demo: $(STAMP)
	ATLAS_DEMO_KEYS=1 $(BIN)/atlas-streams demo

# Two test processes, one file each at a time: the integration tests mostly wait on workers
# (3 of 10 minutes were CPU), so the suite takes ~6.5 minutes instead of ~10 on 2 cores.
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[bench]' py-spy
	$(BIN)/python -m bench.run

lint: $(STAMP)
	$(BIN)/ruff check atlas_streams tests bench
	$(BIN)/mypy atlas_streams/profiling atlas_streams/registry atlas_streams/rbac \
		atlas_streams/drift atlas_streams/windowing

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
