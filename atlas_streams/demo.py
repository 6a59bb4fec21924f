"""``atlas-streams demo``: a broker, a worker, sample data, until Ctrl-C."""

from __future__ import annotations

import asyncio
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from atlas_streams.broker import EmbeddedBroker, free_port
from atlas_streams.launcher import WorkerProcess
from atlas_streams.producer import ensure_topic, produce_values
from atlas_streams.settings import Settings
from atlas_streams.topics import dataset_topic
from atlas_streams.wire import encode_rows

__all__ = ["DEMO_DATASET", "DEMO_KEYS", "run_demo", "sample_orders"]

DEMO_DATASET = "orders"
DEMO_ROWS = 5_000
DEMO_MODEL = "churn-classifier"
DEMO_KEYS = {
    "admin": "atlas-admin-key",
    "data_engineer": "atlas-engineer-key",
    "data_analyst": "atlas-analyst-key",
    "viewer": "atlas-viewer-key",
}


def sample_orders(rows: int = DEMO_ROWS, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Yield a small, realistic orders table with numbers, strings, booleans and nulls."""
    rng = random.Random(seed)
    cities = ["Oslo", "Lima", "Pune", "Austin", "Lagos", "Osaka", "Porto", "Quito"]
    statuses = ["placed", "paid", "shipped", "delivered", "returned"]
    for order_id in range(1, rows + 1):
        yield {
            "order_id": order_id,
            "customer_email": f"user{rng.randint(1, 900)}@example.com",
            "city": rng.choice(cities),
            "status": rng.choices(statuses, weights=[1, 3, 3, 8, 1])[0],
            "amount": round(rng.lognormvariate(3.5, 0.8), 2),
            "items": rng.randint(1, 9),
            "discount": round(rng.random() * 0.3, 3) if rng.random() < 0.3 else None,
            "gift": rng.random() < 0.1,
        }


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def run_demo(settings: Settings, broker_port: int | None = None) -> int:
    """Run the demo until Ctrl-C; return the exit status."""
    if not _port_free(settings.web_host, settings.web_port):
        print(f"atlas-streams: error: port {settings.web_port} is in use; pass --web-port",
              file=sys.stderr)
        return 2
    data_dir = Path(tempfile.mkdtemp(prefix="atlas-demo-"))
    broker = EmbeddedBroker(settings.web_host, broker_port or free_port())
    worker = WorkerProcess(broker.url, data_dir / "worker", settings.web_port,
                           env={"ATLAS_DEMO_KEYS": "1"}, log_path=data_dir / "worker.log")
    try:
        print(f"starting the embedded broker on {broker.url} (topics in memory only) ...")
        broker.start()
        print(f"starting a worker (log: {worker.log_path}) ...")
        worker.start()
        worker.wait_ready(timeout=120)
        demo_settings = settings.model_copy(update={"broker": broker.url})
        print(f"loading {DEMO_ROWS} sample rows into dataset {DEMO_DATASET!r} ...")
        asyncio.run(_load(demo_settings))
        _wait_profiled(worker.url)
        print(f"registering the sample model {DEMO_MODEL!r} ...")
        _register_sample_model(worker.url)
        _print_welcome(worker.url)
        _wait_for_interrupt()
        return 0
    except (RuntimeError, TimeoutError) as exc:
        print(f"atlas-streams: error: {exc}", file=sys.stderr)
        return 1
    finally:
        worker.stop()
        broker.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def _load(settings: Settings) -> None:
    topic = dataset_topic(settings.dataset_prefix, DEMO_DATASET)
    await ensure_topic(settings, topic)
    await produce_values(settings, topic, encode_rows(sample_orders()), total_rows=DEMO_ROWS)


def _wait_profiled(url: str, timeout: float = 60.0) -> None:
    """Wait until the worker has profiled every sample row."""
    request = urllib.request.Request(
        f"{url}/catalog/datasets/{DEMO_DATASET}/profile", headers={"X-API-Key": DEMO_KEYS["admin"]}
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
                if orjson.loads(response.read())["row_count"] >= DEMO_ROWS:
                    return
        except (urllib.error.URLError, OSError, KeyError):
            pass
        time.sleep(0.2)


def _call(url: str, method: str, path: str, body: Any = None) -> Any:
    """Send one JSON request with the demo admin key; return the decoded reply."""
    request = urllib.request.Request(
        f"{url}{path}", method=method, data=None if body is None else orjson.dumps(body),
        headers={"X-API-Key": DEMO_KEYS["admin"], "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return orjson.loads(response.read())
    except urllib.error.HTTPError as err:
        raise RuntimeError(f"{method} {path} answered {err.code}: {err.read()!r}") from None


def _register_sample_model(url: str) -> None:
    """Register the sample model with two versions and promote 1.1.0 to production."""
    run = _call(url, "POST", f"/catalog/datasets/{DEMO_DATASET}/profile")["run_id"]
    _call(url, "POST", "/models/register", {
        "name": DEMO_MODEL, "description": "predicts which customers stop ordering",
        "tags": ["demo", "crm"],
    })
    lineage = {"feature_group": "order_features", "feature_version": "1",
               "features_used": ["amount", "items", "discount", "city"],
               "training_dataset_id": DEMO_DATASET, "profile_run_id": run}
    versions = {"1.0.0": {"accuracy": 0.87, "f1": 0.81}, "1.1.0": {"accuracy": 0.91, "f1": 0.86}}
    for version, metrics in versions.items():
        _call(url, "POST", f"/models/{DEMO_MODEL}/versions", {
            "version": version, "framework": "sklearn", "metrics": metrics, "lineage": lineage,
            "parameters": {"n_estimators": 200, "max_depth": 6},
        })
    for step in ("promote-staging", "promote-production"):
        _call(url, "POST", f"/models/{DEMO_MODEL}/versions/1.1.0/{step}")


def _print_welcome(url: str) -> None:
    keys = "\n".join(f"  {role:<14} {key}" for role, key in DEMO_KEYS.items())
    print(
        f"\nAtlas Streams is running.\n\n  dashboard  {url}/  (send header X-API-Key)\n"
        f"  profile    curl -H 'X-API-Key: atlas-admin-key' {url}/catalog/datasets/"
        f"{DEMO_DATASET}/profile\n\nDemo API keys:\n{keys}\n\nPress Ctrl-C to stop.",
        flush=True,
    )


def _wait_for_interrupt() -> None:
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop:
            signal.pause() if hasattr(signal, "pause") else None
    except KeyboardInterrupt:
        pass
