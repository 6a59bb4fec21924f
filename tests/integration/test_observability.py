"""GET /metrics on a real worker, and its JSON log lines with one access line per request."""

from __future__ import annotations

import orjson
import pytest

from atlas_streams.launcher import WorkerProcess

from .conftest import Cluster, http, wait_rows, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def worker(shared_cluster: Cluster) -> WorkerProcess:
    """One worker writing JSON logs."""
    return shared_cluster.worker("w1", env={"ATLAS_LOG_FORMAT": "json"})


def scrape(worker: WorkerProcess, key: str = "atlas-admin-key") -> tuple[int, str]:
    status, body = http("GET", f"{worker.url}/metrics", key=key)
    return status, body if isinstance(body, str) else orjson.dumps(body).decode()


def sample(text: str, line_start: str) -> float | None:
    """Return the value of the first sample whose line starts with ``line_start``."""
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_cover_datasets_http_audit_registry_batches_lag_and_tables(
    shared_cluster: Cluster, worker: WorkerProcess
) -> None:
    shared_cluster.produce("clicks", [{"n": n} for n in range(40)])
    shared_cluster.produce_raw("clicks", [b"not json"])
    wait_rows(worker, "clicks", 40)
    http("POST", f"{worker.url}/models/register", {"name": f"m-{shared_cluster.app_id}"})
    http("GET", f"{worker.url}/models/", key="atlas-viewer-key")
    assert http("GET", f"{worker.url}/models/", key="wrong")[0] == 401
    assert http("POST", f"{worker.url}/models/register", {"name": "x"},
                key="atlas-viewer-key")[0] == 403

    def scraped() -> str | None:
        status, text = scrape(worker)
        assert status == 200, text
        invalid = sample(text, 'atlas_dataset_invalid_messages_total{dataset="clicks"}')
        return text if invalid == 1 else None

    text = wait_until(scraped, what="the dead-lettered message counted")
    assert sample(text, 'atlas_dataset_rows_total{dataset="clicks"}') == 40
    assert sample(text, 'atlas_http_requests_total{method="GET",route="/models/",status="200"}')
    assert sample(text, 'atlas_http_request_duration_seconds_bucket{le="+Inf",method="GET",'
                        'route="/models/"}')
    assert sample(text, 'atlas_audit_decisions_total{decision="denied",reason="permission_denied"}')
    assert sample(text, 'atlas_audit_decisions_total{decision="denied",reason="unauthenticated"}')
    assert sample(text, 'atlas_audit_decisions_total{decision="allowed",reason="granted"}')
    assert sample(text, 'atlas_registry_commands_total{action="register_model",outcome="ok"}') == 1
    assert (sample(text, "atlas_profiler_batch_messages_count") or 0) >= 1
    assert sample(text, "atlas_profiler_batch_duration_seconds_sum") is not None
    assert sample(text, "atlas_consumer_lag{") is not None
    assert (sample(text, 'atlas_table_keys{table="') or 0) >= 0 and "atlas_table_keys{" in text
    assert "atlas_faust_messages_received_total{" in text


def test_metrics_need_monitoring_read(worker: WorkerProcess) -> None:
    assert scrape(worker, "atlas-viewer-key")[0] == 403
    assert scrape(worker, "atlas-engineer-key")[0] == 200
    assert http("GET", f"{worker.url}/metrics", key=None)[0] == 401


def test_logs_are_json_lines_with_one_access_line_per_request_and_no_key(
    worker: WorkerProcess,
) -> None:
    marker = "observability-marker"
    assert http("GET", f"{worker.url}/rbac/check-dataset-access/{marker}")[0] == 200

    def access_line() -> dict | None:
        lines = [orjson.loads(line) for line in worker.log_path.read_text().splitlines()
                 if line.startswith("{")]
        return next((line for line in lines if line.get("logger") == "atlas_streams.web.access"
                     and line.get("path", "").endswith(marker)), None)

    line = wait_until(access_line, what="the access line of the request")
    assert line["level"] == "INFO" and line["status"] == 200 and line["method"] == "GET"
    assert line["route"] == "/rbac/check-dataset-access/{dataset}" and line["user_id"]
    assert line["request_id"] and line["duration_ms"] >= 0  # the id the response carries
    text = worker.log_path.read_text()
    assert "atlas-admin-key" not in text
    structured = [raw for raw in text.splitlines() if raw.startswith("{")]
    assert len(structured) > 10  # the worker's own lines are JSON too
