"""The dashboard in a real browser: Debian's chromium driven by Playwright, against a worker.

Never downloads a browser: it launches ``/usr/bin/chromium`` (``apt-get install -y chromium``)
and skips, saying so, where that is absent. Screenshots go under the test's tmp dir.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlas_streams.launcher import WorkerProcess

from .conftest import Cluster, http, wait_rows

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-default-apps"]
LONG_NAME = "a-very-long-model-name-" + "x" * 105  # 128 characters, the longest allowed


@pytest.fixture(scope="module")
def browser(worker: WorkerProcess) -> Iterator[Any]:
    """Debian's chromium under Playwright, or a skip that says how to get it.

    Needs the worker first: Playwright's sync API keeps an event loop running in this thread,
    where the worker fixture's ``asyncio.run`` would then fail.
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium); "
                    "the dashboard's browser tests need it and never download a browser")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def worker(shared_cluster: Cluster) -> WorkerProcess:
    """A worker with a dataset, a snapshot, a model in production and an analyst's mask."""
    proc = shared_cluster.worker("web")
    rows = [{"amount": round(n * 1.25, 2), "city": ["Oslo", "Lima", "Pune"][n % 3],
             "email": f"user{n}@example.com", "order_id": f"o-{n:05d}"} for n in range(300)]
    shared_cluster.produce("orders", rows)
    wait_rows(proc, "orders", 300)
    assert http("POST", f"{proc.url}/catalog/datasets/orders/profile")[0] == 201
    for name in ("churn", LONG_NAME):
        assert http("POST", f"{proc.url}/models/register", {"name": name})[0] == 201
    for version, accuracy in (("1.0.0", 0.81), ("1.1.0", 0.86)):
        body = {"version": version, "framework": "sklearn", "metrics": {"accuracy": accuracy},
                "lineage": {"feature_group": "customers", "training_dataset_id": "orders"}}
        assert http("POST", f"{proc.url}/models/churn/versions", body)[0] == 201
    assert http("POST", f"{proc.url}/models/churn/versions/1.1.0/promote-production")[0] == 200
    masks = {"masked_columns": {"orders": {"email": "hash"}}}
    assert http("PUT", f"{proc.url}/rbac/users/analyst-001/column-masking", masks)[0] == 200
    return proc


@pytest.fixture
def page(browser: Any, worker: WorkerProcess) -> Iterator[Any]:
    """A fresh browser context at 1280 px, collecting console messages and failed requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.console_messages = []  # type: ignore[attr-defined]
    opened.on("console", lambda m: opened.console_messages.append(f"{m.type}: {m.text}"))
    opened.failed_responses = []  # type: ignore[attr-defined]
    opened.on("response", lambda r: r.status >= 400 and opened.failed_responses.append(
        f"{r.status} {r.url}"))
    yield opened
    context.close()


def sign_in(page: Any, worker: WorkerProcess, key: str) -> None:
    page.goto(f"{worker.url}/")
    page.fill("#key", key)
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#datasets")


def test_the_page_loads_without_a_key_and_asks_for_one(
    page: Any, worker: WorkerProcess, tmp_path: Path
) -> None:
    page.goto(f"{worker.url}/")
    page.wait_for_selector("#signin:not([hidden])")
    page.screenshot(path=str(tmp_path / "signin.png"))
    assert page.failed_responses == [] and page.console_messages == []
    assert page.is_hidden("#nav")


def test_admin_sees_histograms_quantiles_snapshots_and_the_production_version(
    page: Any, worker: WorkerProcess, tmp_path: Path
) -> None:
    sign_in(page, worker, "atlas-admin-key")
    assert "orders" in page.inner_text("#datasets")
    assert "1.1.0" in page.inner_text("#models") and LONG_NAME in page.inner_text("#models")
    page.click("#datasets a:text('orders')")
    amount = page.wait_for_selector("article.column[data-column=amount]")
    assert amount.query_selector("figure.hist svg rect.bar") is not None
    axis_labels = [t.text_content() for t in amount.query_selector_all("figure.hist svg text")]
    assert "0" in axis_labels and len(axis_labels) >= 5
    assert "p50" in amount.inner_text() and "median" in amount.inner_text()
    city = page.query_selector("article.column[data-column=city]")
    assert city is not None and city.query_selector(".bars meter") is not None
    order_id = page.query_selector("article.column[data-column=order_id]")
    assert order_id is not None and order_id.query_selector(".bars") is None  # all unique
    assert page.query_selector_all("#snapshots tr") and "no snapshots" not in page.inner_text(
        "#snapshots")
    page.select_option("#compare-a", index=1)
    page.click("#compare")
    page.wait_for_selector("#comparison table")
    page.screenshot(path=str(tmp_path / "dataset.png"), full_page=True)

    page.goto(f"{worker.url}/#/model/churn")
    page.wait_for_selector("#production")
    assert page.inner_text("#production") == "1.1.0"
    assert "customers" in page.inner_text("#versions")
    page.click("#compare-versions")
    page.wait_for_selector("#version-comparison table")
    assert "accuracy" in page.inner_text("#version-comparison")
    page.screenshot(path=str(tmp_path / "model.png"), full_page=True)

    page.goto(f"{worker.url}/#/audit")
    page.select_option("#audit-decision", "allowed")
    page.click("#audit-filters button")
    page.wait_for_selector("#audit-results tr.allowed")
    assert page.query_selector("#audit-results tr.denied") is None
    assert page.failed_responses == [], page.failed_responses
    assert not [m for m in page.console_messages if m.startswith("error")], page.console_messages

    page.click("#signout")
    page.wait_for_selector("#signin:not([hidden])")
    assert page.evaluate("sessionStorage.getItem('atlas-key')") is None


def test_an_analyst_sees_the_masked_column_marked(
    page: Any, worker: WorkerProcess, tmp_path: Path
) -> None:
    sign_in(page, worker, "atlas-analyst-key")
    page.goto(f"{worker.url}/#/dataset/orders")
    email = page.wait_for_selector("article.column[data-column=email]")
    assert "masked" in email.inner_text()
    assert email.query_selector(".bars") is None and "@example.com" not in email.inner_text()
    assert page.is_hidden("#nav-audit")  # no admin:audit
    page.screenshot(path=str(tmp_path / "analyst.png"), full_page=True)


def test_narrow_screens_and_long_names_do_not_overflow(
    page: Any, worker: WorkerProcess, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 420, "height": 900})
    sign_in(page, worker, "atlas-admin-key")
    for route in ("#/", "#/dataset/orders", f"#/model/{LONG_NAME}"):
        page.goto(f"{worker.url}/{route}")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 420, (route, width)
    page.screenshot(path=str(tmp_path / "narrow.png"), full_page=True)
