"""The host's dashboard through Chromium: the instance list with 10,000 instances in the hub,
and one instance whose history holds 5,000 events.

A memory task hub is filled through its own interface (each instance created, its work item
fetched and committed with a short history and an ended or running status); the big instance
holds a chain of the benchmark app's activities (``bench.histories``). The dashboard is served
by the host's HTTP front end over that hub. Each figure is the median over a few loads, in
milliseconds by the page's own clock from the start of the navigation until the frame after
its load event has been drawn, its table in the page (the server's work and the browser's
parsing, layout and painting all count).
"""

from __future__ import annotations

import json
import shutil
import statistics
from dataclasses import replace
from datetime import timedelta

from playwright.async_api import Page, async_playwright

from bench.apps.noop.noop_names import CHAIN
from bench.context import Run
from bench.durable import BENCH_APP_DIR, app_index
from bench.figures import MEMORY, Figure
from bench.histories import episode_with_history, history_length
from devhost.app.settings import load_settings
from devhost.clock import SystemClock
from devhost.engine.client import DurableClient, start_message
from devhost.engine.protocol import (
    HistoryEvent,
    execution_completed,
    execution_started,
    orchestrator_completed,
    orchestrator_started,
)
from devhost.http.keys import HostKeys
from devhost.http.server import HttpFrontEnd
from devhost.taskhub.base import Commit, InstanceRecord, RuntimeStatus
from devhost.taskhub.memory import MemoryTaskHub

BIG_INSTANCE = "bench-history"
LOADS = 5
# Every fourth instance still running, the others ended one way or another.
STATUSES = (RuntimeStatus.COMPLETED, RuntimeStatus.RUNNING, RuntimeStatus.FAILED,
            RuntimeStatus.COMPLETED)
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update")


async def _seed(hub: MemoryTaskHub, instances: int, events: int) -> int:
    """Fill ``hub``: the big instance first, then ``instances`` small ones; return the big
    instance's history length."""
    now = hub.clock.now()
    episode = episode_with_history(events)
    big = InstanceRecord(BIG_INSTANCE, CHAIN, RuntimeStatus.PENDING, now, now,
                         input=episode.input_text)
    await _create_and_commit(hub, big, RuntimeStatus.RUNNING, episode.past + episode.new)
    for number in range(instances):
        created = now + timedelta(milliseconds=number)
        record = InstanceRecord(f"bench-{number:05d}", CHAIN, RuntimeStatus.PENDING, created,
                                created, input=json.dumps({"count": number}))
        history = [orchestrator_started(created),
                   execution_started(CHAIN, record.instance_id, record.input, created),
                   execution_completed(json.dumps(number), False, created),
                   orchestrator_completed(created)]
        await _create_and_commit(hub, record, STATUSES[number % len(STATUSES)], history)
    return history_length(episode)


async def _create_and_commit(hub: MemoryTaskHub, record: InstanceRecord,
                             status: RuntimeStatus, history: list[HistoryEvent]) -> None:
    """Create ``record`` and commit its first work item with ``history`` and ``status``."""
    await hub.create_instance(record, start_message(record))
    item = await hub.fetch_orchestration_work(0)
    if item is None or item.instance_id != record.instance_id:
        raise RuntimeError(f"the hub handed out {item and item.instance_id} for "
                           f"{record.instance_id}")
    await hub.complete_orchestration_work(item, Commit(
        replace(record, runtime_status=status), new_history=history))


# Resolves in the page once the frame after the load event has been drawn: the page's
# own clock then reads the time since the navigation started.
_AFTER_NEXT_FRAME = ("() => new Promise(done => requestAnimationFrame("
                     "() => setTimeout(() => done(performance.now()), 0)))")


async def _load_ms(page: Page, url: str, selector: str) -> float:
    """Milliseconds from asking for ``url`` until the frame after its load event was drawn,
    by the page's own clock; ``selector`` must then be in the page."""
    await page.goto(url, wait_until="load")
    drawn = float(await page.evaluate(_AFTER_NEXT_FRAME))
    if not await page.locator(selector).count():
        raise RuntimeError(f"{url} was drawn without {selector}")
    return drawn


async def scenario(run: Run) -> None:
    """Time the dashboard's instance list and its biggest instance page in Chromium."""
    if MEMORY not in run.backends.names:
        return
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError("chromium is not installed (apt-get install chromium)")
    index = app_index(BENCH_APP_DIR)
    hub = MemoryTaskHub(SystemClock())
    events = await _seed(hub, run.sizes.pages_instances, run.sizes.pages_history)
    client = DurableClient(hub, list(index.orchestrators))
    front_end = HttpFrontEnd(index, client, HostKeys("bench-f", "bench-m", "bench-s"),
                             load_settings(BENCH_APP_DIR, environ={}), port=0)
    await front_end.start()
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium, headless=True, args=list(CHROMIUM_FLAGS))
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 800})
                dashboard = f"{front_end.base_url}/_devhost/"
                big = f"{dashboard}instances/{BIG_INSTANCE}"
                await _load_ms(page, dashboard, "table.instances tbody tr")  # warm-up
                lists = [await _load_ms(page, dashboard, "table.instances tbody tr")
                         for _ in range(LOADS)]
                last_row = f'table.history tr[data-n="{events}"]'
                await _load_ms(page, big, last_row)
                histories = [await _load_ms(page, big, last_row) for _ in range(LOADS)]
            finally:
                await browser.close()
    finally:
        await front_end.stop()
    count = run.sizes.pages_instances
    run.add(Figure(f"pages_list{count}", f"dashboard: first page of the list, {count:,} "
                   "instances in the hub", MEMORY, statistics.median(lists), "ms"))
    run.add(Figure(f"pages_history{events}", f"dashboard: instance page with {events:,} "
                   "history events", MEMORY, statistics.median(histories), "ms"))
