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

from .conftest import Cluster, http, wait_rows, wait_until
from .test_windows import WINDOWING, at, settled, start, warm_up

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
    """A worker with a dataset, a snapshot, a model in production, an analyst's mask and windows."""
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
    windowed_dataset(shared_cluster, proc)
    return proc


def windowed_dataset(cluster: Cluster, proc: WorkerProcess) -> None:
    """Dataset ``readings``: two closed one-minute windows, judged by a monitor on the first.

    Minute 0 holds 12 rows around 10 of kind a, minute 1 holds 8 rows around 50 of kind b: both
    columns drift. Produced here, before the browser: Playwright's loop would stop ``produce``.
    """
    dataset, url = "readings", f"{proc.url}/catalog/datasets/readings"
    assert http("PUT", f"{url}/windowing", WINDOWING)[0] == 200
    monitor = {"reference": f"range:{start(0)}/{start(1)}", "thresholds": {"psi": 0.25}}
    assert http("PUT", f"{url}/monitor", monitor)[0] == 200
    rows = ([{"at": at(i * 4), "v": 10 + i % 3, "kind": "a"} for i in range(12)]
            + [{"at": at(60 + i * 5), "v": 50 + i, "kind": "b"} for i in range(8)])
    warm_up(cluster, proc, dataset, rows[0])
    cluster.produce(dataset, rows[1:])
    settled(proc, dataset, {start(0): 12, start(1): 8})
    wait_until(lambda: len(http("GET", f"{url}/drift-events")[1]["verdicts"]) == 2 or None, 20,
               "the monitor's verdicts on both windows")


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


def test_the_windows_and_drift_of_a_windowed_dataset(
    page: Any, worker: WorkerProcess, tmp_path: Path
) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, worker, "atlas-admin-key")
    page.click("#datasets a:text-is('readings')")
    for minute, count in ((0, 12), (1, 8)):
        row = page.locator(f"#windows tr[data-start='{start(minute)}']")
        expect(row.locator("td.rows")).to_have_text(str(count))
        expect(row.locator("td.late")).to_have_text("0")
        expect(row.locator("td.state")).to_have_text("closed")
    assert page.locator("#windows-card figure svg rect.bar").count() == 2
    expect(page.locator("#windows-card")).to_contain_text("column at")

    # The default comparison: the oldest closed window against the latest closed one.
    assert page.input_value("#drift-reference") == f"window:{start(0)}"
    assert page.input_value("#drift-current") == "latest"
    expect(page.locator("#drift-verdict")).to_have_text("drift")
    v = page.locator("#drift-columns tr[data-column=v]")
    expect(v).to_have_class("drifted")
    expect(v.locator("td.flag")).to_have_text("drift")
    assert v.locator("td.breach[data-metric=psi]").count() == 1
    assert float(v.locator("td[data-metric=ks]").inner_text()) == 1  # disjoint values
    kind = page.locator("#drift-columns tr[data-column=kind]")
    expect(kind.locator("td.flag")).to_have_text("drift")
    assert page.locator("#drift-columns tr[data-column=at]").count() == 0  # the event time
    headers = page.locator("#drift-columns th").all_inner_texts()
    assert {"psi", "js", "ks", "wasserstein"} <= set(headers), headers
    expect(page.locator("#drift-event-list")).to_contain_text("psi")
    assert "v" in page.locator("#drift-event-list td.name").all_inner_texts()
    page.screenshot(path=str(tmp_path / "windows.png"), full_page=True)

    # A window against itself: no drift, metrics all zero.
    page.select_option("#drift-reference", f"window:{start(1)}")
    page.select_option("#drift-current", f"window:{start(1)}")
    page.click("#drift-compare")
    expect(page.locator("#drift-verdict")).to_have_text("no drift")
    expect(page.locator("#drift-columns tr[data-column=v] td[data-metric=ks]")).to_have_text("0")
    assert page.locator("#drift-columns tr.drifted").count() == 0

    # An API error is a message in the panel: orders (hour windows on the message timestamp, 10
    # minutes of grace, quiet for less) has no closed window, so "latest" is a 404, in words.
    page.goto(f"{worker.url}/#/dataset/orders")  # the same document: wait for orders' own view
    expect(page.locator("#view h2.name")).to_have_text("orders")
    page.select_option("#drift-current", "latest")
    page.click("#drift-compare")
    expect(page.locator("#drift-result .problem")).to_contain_text("404")
    expect(page.locator("#drift-result .problem")).to_contain_text("no closed window yet")
    expect(page.locator("#drift-events")).to_contain_text("No monitor verdict yet")
    assert errors == [], errors
    assert all("/drift?" in f for f in page.failed_responses), page.failed_responses
