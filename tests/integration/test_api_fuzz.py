"""Schemathesis fuzzes every operation of the served API document against a live worker.

Each operation gets a bounded number of generated requests (``EXAMPLES``) with the admin key,
so every permission check passes and the handlers themselves are exercised. Every answer must
be no 5xx and must conform to the document: a declared status, a declared content type, a
body valid against its schema (errors included: one shape, ``{"error", "status"}``).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from atlas_streams.launcher import WorkerProcess

from .conftest import ADMIN_KEY, Cluster, http, wait_rows

pytestmark = pytest.mark.integration

EXAMPLES = 6  # per operation and mode: ~50 operations, under a minute on 2 cores
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def worker(shared_cluster: Cluster) -> WorkerProcess:
    """A worker with a dataset and a model in production, so reads find something."""
    proc = shared_cluster.worker("fuzz")
    shared_cluster.produce("orders", [{"amount": n * 1.5, "city": f"c{n % 4}", "ok": n % 2 == 0}
                                      for n in range(50)])
    wait_rows(proc, "orders", 50)
    http("POST", f"{proc.url}/models/register", {"name": "churn", "tags": ["crm"]})
    http("POST", f"{proc.url}/models/churn/versions",
         {"version": "1.0.0", "framework": "sklearn", "metrics": {"auc": 0.8}})
    http("POST", f"{proc.url}/models/churn/versions/1.0.0/promote-production")
    return proc


def operations(worker: WorkerProcess) -> list[schemathesis.APIOperation]:
    """Return every operation of the document the worker serves, as schemathesis loads it.

    The key requirement is taken out of the copy fuzzed here: every request carries the admin
    key, so invalid input reaches the handlers instead of being refused (and rate-limited) at
    the door. 401, 403 and 429 stay documented and are checked by the unit tests.
    """
    status, document = http("GET", f"{worker.url}/openapi.json", key=None)
    assert status == 200, document
    for methods in document["paths"].values():
        for operation in methods.values():
            operation["security"] = []
    loaded = schemathesis.openapi.from_dict(document)
    return [result.ok() for result in loaded.get_all_operations()]


def fuzz(
    url: str, operation: schemathesis.APIOperation, mode: schemathesis.GenerationMode
) -> None:
    """Send ``EXAMPLES`` generated requests to one operation and check every answer."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=url, headers={"X-API-Key": ADMIN_KEY}, checks=CHECKS,
                               timeout=60)

    run()


def test_every_operation_answers_as_documented(worker: WorkerProcess) -> None:
    # One hypothesis run per operation inside one test: schemathesis' lazy pytest
    # parametrization does not work with pytest 9, and a failure names its operation here.
    found = operations(worker)
    assert len(found) >= 45, [op.label for op in found]
    failures = []
    for operation in found:
        # Valid requests, then invalid ones (wrong types, missing fields, bad parameters),
        # which must be refused with a documented 4xx, never a 5xx.
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            try:
                fuzz(worker.url, operation, mode)
            except Unsatisfiable:  # nothing to make invalid: no body, query or typed parameter
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
            except Exception as exc:  # collect every failure, then report them all
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
