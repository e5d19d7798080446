"""The host's dashboard in Chromium: find an instance, read its history and timeline, act on
it (raise an event, terminate, purge), and see that another origin cannot act at all.

The app is a small generic one written here, run on the memory hub under the system clock
so that its activities (which sleep a little) and its wait for an event take visible time.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Page, expect

from devhost.app.loader import import_state_kept, load_app
from devhost.app.settings import load_settings
from devhost.clock import SystemClock
from devhost.engine.client import DurableClient
from devhost.engine.runtime import DurableRuntime
from devhost.http.keys import HostKeys
from devhost.http.server import HttpFrontEnd
from devhost.taskhub.base import RuntimeStatus
from devhost.taskhub.memory import MemoryTaskHub

pytestmark = pytest.mark.browser

WAIT_MS = 15_000
PIPELINE_APP = '''
import time
from datetime import timedelta

import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context", orchestration="Pipeline")
def pipeline(context: df.DurableOrchestrationContext):
    context.set_custom_status({"step": "preparing"})
    for step in range(3):
        yield context.call_activity("Step", step)
    context.set_custom_status({"step": "waiting for Go"})
    timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    go = context.wait_for_external_event("Go")
    winner = yield context.task_any([go, timer])
    if winner == go:
        timer.cancel()
    yield context.call_activity("Step", 99)
    context.set_custom_status({"step": "done"})
    return {"go": go.result if winner == go else None}


@app.activity_trigger(input_name="step", activity="Step")
def step(step: int) -> int:
    time.sleep(0.3)
    return step
'''


@dataclass
class Hosted:
    """The app's front end and the durable client behind it."""

    front_end: HttpFrontEnd
    client: DurableClient

    @property
    def dashboard(self) -> str:
        """The dashboard's address."""
        return f"{self.front_end.base_url}/_devhost/"


@pytest.fixture
async def hosted(tmp_path: Path) -> AsyncIterator[Hosted]:
    """The pipeline app served on a free loopback port, over a memory hub."""
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "function_app.py").write_text(textwrap.dedent(PIPELINE_APP))
    with import_state_kept():
        index = load_app(folder)
        runtime = DurableRuntime(MemoryTaskHub(SystemClock()), index.orchestrators,
                                 index.activities)
        await runtime.start()
        try:
            front_end = HttpFrontEnd(index, runtime.client, HostKeys.load(folder),
                                     load_settings(folder, environ={}), port=0)
            await front_end.start()
            try:
                yield Hosted(front_end, runtime.client)
            finally:
                await front_end.stop()
        finally:
            await runtime.stop()


async def waiting_for_go(hosted: Hosted, instance_id: str) -> None:
    """Start a pipeline and wait until it waits for Go."""
    await hosted.client.start_new("Pipeline", instance_id, json.dumps({"batch": instance_id}))
    await hosted.client.wait_for(instance_id, lambda r: "waiting" in (r.custom_status or ""),
                                 timeout=60)


async def test_find_an_instance_and_raise_its_event(screenshots: Path, page: Page,
                                                    hosted: Hosted) -> None:
    """The list links each instance; a filter narrows it; the instance page shows input,
    custom status, the history and a timeline where the activities ran and the event was
    waited for; raising Go from the page completes it with the event's data."""
    for number in range(3):
        await waiting_for_go(hosted, f"batch-{number}")
    await page.goto(hosted.dashboard)
    rows = page.locator("table.instances tbody tr")
    await expect(rows).to_have_count(3)
    await expect(rows.first).to_have_attribute("data-instance-id", "batch-2")
    await hosted.client.terminate("batch-0", "not needed")
    await hosted.client.wait_for("batch-0")
    await page.get_by_label("Runtime status").select_option("Running")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(2)
    await page.get_by_label("Runtime status").select_option("")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(3)
    await page.screenshot(path=str(screenshots / "dashboard-instances.png"))

    await page.get_by_role("link", name="batch-1").click()
    await expect(page.locator("h1.instance-id")).to_have_text("batch-1")
    await expect(page.locator("pre.custom-status")).to_contain_text("waiting for Go")
    await expect(page.locator("pre.input")).to_contain_text("batch-1")
    await expect(page.locator('.span[data-kind="activity"]')).to_have_count(3)
    await page.get_by_label("Event name").fill("Go")
    await page.get_by_label("Data (JSON)").fill('{"by": "the dashboard"}')
    await page.get_by_role("button", name="Raise event").click()
    await expect(page.get_by_role("status")).to_have_text("Event raised.")
    record = await hosted.client.wait_for("batch-1", timeout=60)
    assert json.loads(record.output or "null") == {"go": {"by": "the dashboard"}}
    await page.goto(f"{hosted.dashboard}instances/batch-1")
    await expect(page.locator("#runtime-status")).to_have_text("Completed")
    await expect(page.locator('.span[data-kind="activity"]')).to_have_count(4)
    await expect(page.locator('.lane[data-lane="waited"] .span[data-kind="event"]')
                 ).to_have_attribute("data-label", "Go")
    await expect(page.locator("table.history")).to_contain_text("EventRaised")
    await page.screenshot(path=str(screenshots / "dashboard-instance.png"), full_page=True)


async def test_terminate_and_purge_from_the_page(page: Page, hosted: Hosted) -> None:
    """Terminate (after the page asks) ends the instance; purge forgets it and returns to
    the list, which no longer shows it."""
    await waiting_for_go(hosted, "batch-t")
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(f"{hosted.dashboard}instances/batch-t")
    await page.get_by_label("Reason").first.fill("stopped from the dashboard")
    await page.get_by_role("button", name="Terminate").click()
    await expect(page.get_by_role("status")).to_have_text("Termination requested.")
    record = await hosted.client.wait_for("batch-t", timeout=60)
    assert record.runtime_status == RuntimeStatus.TERMINATED
    await page.reload()
    await expect(page.locator("#runtime-status")).to_have_text("Terminated")
    await page.get_by_role("button", name="Purge").click()
    await expect(page.get_by_role("status")).to_have_text("Purged batch-t.")
    await expect(page.locator("table.instances tbody tr")).to_have_count(0)
    assert await hosted.client.get_instance("batch-t") is None


async def test_another_origin_cannot_read_or_act(page: Page, hosted: Hosted) -> None:
    """A page of another origin in the same browser cannot read the dashboard (no CORS) and
    its form posted to an action, token field and all, is refused: the instance runs on."""
    await waiting_for_go(hosted, "batch-x")
    target = f"{hosted.dashboard}instances/batch-x/terminate"
    evil = web.Application()

    async def lure(request: web.Request) -> web.Response:
        return web.Response(content_type="text/html", text=(
            f'<form id="f" method="post" action="{target}">'
            '<input type="hidden" name="_token" value="guessed">'
            '<input type="hidden" name="reason" value="evil"></form>'))

    evil.router.add_get("/", lure)
    runner = web.AppRunner(evil)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        await page.goto(f"http://127.0.0.1:{port}/")
        read = await page.evaluate(
            "url => fetch(url).then(r => r.text()).then(t => 'read ' + t.length)"
            ".catch(e => 'blocked')", hosted.dashboard)
        assert read == "blocked"
        async with page.expect_navigation():
            await page.evaluate("document.getElementById('f').submit()")
        await expect(page.get_by_role("alert")).to_contain_text("Origin differs")
    finally:
        await runner.cleanup()
    record = await hosted.client.get_instance("batch-x")
    assert record is not None and record.runtime_status == RuntimeStatus.RUNNING
