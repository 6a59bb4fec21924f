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

# Three test processes, one file each at a time: the integration tests mostly wait on workers
# (joins, commits; ~6 of the suite's CPU minutes over ~8.5 minutes at -n 2), so on 2 cores the
# suite took 6 m 44 s at -n 3 against 8 m 37 s at -n 2 (same day, same machine).
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 3 --dist loadfile

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
