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
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from atlas_streams.launcher import WorkerProcess

from .conftest import ADMIN_KEY, Cluster, http, wait_rows

pytestmark = pytest.mark.integration

EXAMPLES = 6  # per operation: ~50 operations, about a minute on 2 cores
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
    """Return every operation of the document the worker serves, as schemathesis loads it."""
    loaded = schemathesis.openapi.from_url(f"{worker.url}/openapi.json")
    return [result.ok() for result in loaded.get_all_operations()]


def fuzz(operation: schemathesis.APIOperation) -> None:
    """Send ``EXAMPLES`` generated requests to one operation and check every answer."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"X-API-Key": ADMIN_KEY}, checks=CHECKS, timeout=60)

    run()


def test_every_operation_answers_as_documented(worker: WorkerProcess) -> None:
    # One hypothesis run per operation inside one test: schemathesis' lazy pytest
    # parametrization does not work with pytest 9, and a failure names its operation here.
    found = operations(worker)
    assert len(found) >= 45, [op.label for op in found]
    failures = []
    for operation in found:
        try:
            fuzz(operation)
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
