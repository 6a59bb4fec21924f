PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint mutation clean

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

# Mutation check of the pure domain's tests (docs/testing.md); not part of `make test`. Its own
# venv: mutmut 3.8 needs click>=8.4.2 and faust-streaming pins click<8.4. The pure domain and its
# tests need neither faust nor click, so the project goes in without its dependencies.
MUTATION := .venv-mutation
mutation:
	test -x $(MUTATION)/bin/mutmut || { $(PY) -m venv $(MUTATION) && \
	  $(MUTATION)/bin/pip install -q mutmut==3.8.1 pytest pytest-asyncio hypothesis numpy \
	    datasketches msgpack orjson semver 'backports.zstd>=1.0; python_version < "3.14"' && \
	  $(MUTATION)/bin/pip install -q --no-deps -e .; }
	rm -rf mutants
	$(MUTATION)/bin/mutmut run --max-children 2
	$(MUTATION)/bin/mutmut results

clean:
	rm -rf $(VENV) $(MUTATION) mutants build *.egg-info .pytest_cache
