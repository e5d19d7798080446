"""The host's dashboard over real HTTP: the list, an instance's page, its actions, its guard."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import pytest

from devhost.dashboard.listing import PAGE_SIZE
from devhost.taskhub.base import RuntimeStatus
from tests.support.front_end import CLOCK_START, AppServer, AppWriter, ServedApp
from tests.support.front_end import SAMPLE_APP as APP

TOKEN = re.compile(r'name="_token" value="([^"]+)"')
ALERT = re.compile(r'role="alert">([^<]*)<')


@dataclass
class Answer:
    """One answer of the dashboard."""

    status: int
    headers: dict[str, str]
    text: str


class Dashboard:
    """Requests to one host's dashboard, as its own pages (or another origin) send them."""

    def __init__(self, served: ServedApp, session: aiohttp.ClientSession) -> None:
        self.served = served
        self.base = served.front_end.base_url
        self.session = session

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        """GET ``path`` without following redirects."""
        async with self.session.get(self.base + path, headers=headers or {},
                                    allow_redirects=False) as answer:
            return Answer(answer.status, dict(answer.headers), await answer.text())

    async def token(self, instance_id: str) -> str:
        """The action token the instance's page carries."""
        page = await self.get(f"/_devhost/instances/{instance_id}")
        found = TOKEN.search(page.text)
        assert found, page.text[:500]
        return found.group(1)

    async def act(self, instance_id: str, action: str, form: dict[str, str] | None = None, *,
                  origin: str | None = "own", token: str | None = "own",  # noqa: S107
                  headers: dict[str, str] | None = None) -> Answer:
        """POST an action's form: by default with the page's token and the dashboard's own
        Origin; ``None`` leaves either out."""
        fields = dict(form or {})
        if token == "own":
            fields["_token"] = await self.token(instance_id)
        elif token is not None:
            fields["_token"] = token
        sent = dict(headers or {})
        if origin is not None:
            sent["Origin"] = self.base if origin == "own" else origin
        async with self.session.post(f"{self.base}/_devhost/instances/{instance_id}/{action}",
                                     data=fields, headers=sent,
                                     allow_redirects=False) as answer:
            return Answer(answer.status, dict(answer.headers), await answer.text())


@pytest.fixture
async def served(write_app: AppWriter, serve_app: AppServer) -> ServedApp:
    """The sample app on a loopback port."""
    return await serve_app(write_app(APP))


@pytest.fixture
async def dashboard(served: ServedApp) -> Dashboard:
    """The served sample app's dashboard."""
    async with aiohttp.ClientSession() as session:
        yield Dashboard(served, session)


async def waiting(served: ServedApp, instance_id: str) -> None:
    """Start AwaitApproval as ``instance_id`` and wait until it runs."""
    await served.client.start_new("AwaitApproval", instance_id, json.dumps({"n": 1}))
    await served.client.wait_for(
        instance_id, lambda r: r.runtime_status == RuntimeStatus.RUNNING, timeout=30)


def listed_ids(text: str) -> list[str]:
    """The instance ids of a list page, in order."""
    return re.findall(r'<tr data-instance-id="([^"]+)"', text)


async def test_the_list_shows_newest_first_with_links_and_filters(
        served: ServedApp, dashboard: Dashboard) -> None:
    """Each instance is one row whose id links to its page, newest first; name, status
    and id prefix filter the list."""
    clock = served.hub.clock
    for number in range(3):
        await served.client.start_new("Echo", f"echo-{number}", json.dumps(number))
        await clock.advance(timedelta(seconds=1))
    await waiting(served, "wait-1")
    for number in range(3):
        await served.client.wait_for(f"echo-{number}")
    page = await dashboard.get("/_devhost/")
    assert page.status == 200
    assert listed_ids(page.text) == ["wait-1", "echo-2", "echo-1", "echo-0"]
    assert 'href="/_devhost/instances/echo-1"' in page.text
    by_name = await dashboard.get("/_devhost/?name=AwaitApproval")
    assert listed_ids(by_name.text) == ["wait-1"]
    by_status = await dashboard.get("/_devhost/?status=Completed&prefix=echo-")
    assert listed_ids(by_status.text) == ["echo-2", "echo-1", "echo-0"]
    by_prefix = await dashboard.get("/_devhost/?prefix=echo-1")
    assert listed_ids(by_prefix.text) == ["echo-1"]


async def test_the_list_filters_by_created_time_and_pages(served: ServedApp,
                                                          dashboard: Dashboard) -> None:
    """Created-time filters bound the list (UTC); a page holds PAGE_SIZE instances and
    links to the next, older one."""
    clock = served.hub.clock
    total = PAGE_SIZE + 5
    for number in range(total):
        await served.client.start_new("Echo", f"i-{number:03d}", "1")
        await clock.advance(timedelta(minutes=1))
    first = await dashboard.get("/_devhost/")
    assert listed_ids(first.text) == [f"i-{n:03d}" for n in range(total - 1, 4, -1)]
    assert f"1 to {PAGE_SIZE} of {total}" in first.text
    older = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert older is not None
    second = await dashboard.get(older.group(1).replace("&amp;", "&"))
    assert listed_ids(second.text) == [f"i-{n:03d}" for n in range(4, -1, -1)]
    assert 'rel="next"' not in second.text and 'rel="prev"' in second.text
    since = (CLOCK_START + timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M")
    until = (CLOCK_START + timedelta(minutes=52)).strftime("%Y-%m-%dT%H:%M")
    window = await dashboard.get(f"/_devhost/?from={since}&to={until}")
    assert listed_ids(window.text) == ["i-052", "i-051", "i-050"]


@pytest.mark.parametrize(("query", "field"), [("status=running", "status"),
                                              ("from=yesterday", "from"),
                                              ("offset=-1", "offset"),
                                              ("from=2024-05-02T00:00&to=2024-05-01T00:00",
                                               "from")])
async def test_a_bad_filter_is_a_400_naming_the_field(dashboard: Dashboard, query: str,
                                                      field: str) -> None:
    """A filter the page cannot read answers 400 with the field named, and lists nothing."""
    page = await dashboard.get(f"/_devhost/?{query}")
    assert page.status == 400
    alert = ALERT.search(page.text)
    assert alert is not None and alert.group(1).startswith(f"{field}:")
    assert listed_ids(page.text) == []


async def test_the_instance_page_shows_values_history_and_timeline(
        served: ServedApp, dashboard: Dashboard) -> None:
    """Input, custom status, the history as a table and the timeline's lanes: the
    activity of Hello ran, the event AwaitApproval waited for is a wait."""
    await served.client.start_new("Hello", "hello-1", json.dumps("Lisbon"))
    await served.client.wait_for("hello-1")
    page = await dashboard.get("/_devhost/instances/hello-1")
    assert page.status == 200
    assert "&quot;Hello Lisbon&quot;" in page.text or '"Hello Lisbon"' in page.text
    assert 'data-kind="activity" data-label="SayHello"' in page.text
    assert "<td>TaskScheduled</td>" in page.text and "<td>TaskCompleted</td>" in page.text
    await waiting(served, "wait-2")
    waiting_page = await dashboard.get("/_devhost/instances/wait-2")
    assert "cooking" in waiting_page.text
    answer = await dashboard.act("wait-2", "raise-event",
                                 {"name": "Approval", "data": '{"ok": true}'})
    assert answer.status == 303
    record = await served.client.wait_for("wait-2")
    assert record.runtime_status == RuntimeStatus.COMPLETED
    done = await dashboard.get("/_devhost/instances/wait-2")
    assert 'data-lane="waited"' in done.text
    assert re.search(r'class="span waited event arrived" data-kind="event" '
                     r'data-label="Approval"', done.text)
    assert "<td>EventRaised</td>" in done.text


async def test_raise_event_delivers_the_data(served: ServedApp, dashboard: Dashboard) -> None:
    """Raising an event from the page hands the orchestrator the JSON data, then shows
    the page again with a notice."""
    await waiting(served, "wait-3")
    answer = await dashboard.act("wait-3", "raise-event",
                                 {"name": "Approval", "data": '{"approved": true}'})
    assert answer.status == 303
    assert answer.headers["Location"] == "/_devhost/instances/wait-3?done=raise-event"
    record = await served.client.wait_for("wait-3")
    assert json.loads(record.output or "null") == {"approved": True}
    shown = await dashboard.get(answer.headers["Location"])
    assert "Event raised." in shown.text


async def test_terminate_suspend_resume_restart_and_purge(served: ServedApp,
                                                          dashboard: Dashboard) -> None:
    """Each action does what the management API's would: suspend and resume change the
    status, terminate ends it, restart starts it again under a new id, purge forgets it."""
    await waiting(served, "wait-4")
    assert (await dashboard.act("wait-4", "suspend", {"reason": "look"})).status == 303
    await served.client.wait_for("wait-4",
                                 lambda r: r.runtime_status == RuntimeStatus.SUSPENDED)
    assert (await dashboard.act("wait-4", "resume")).status == 303
    await served.client.wait_for("wait-4", lambda r: r.runtime_status == RuntimeStatus.RUNNING)
    assert (await dashboard.act("wait-4", "terminate", {"reason": "enough"})).status == 303
    record = await served.client.wait_for("wait-4")
    assert record.runtime_status == RuntimeStatus.TERMINATED
    restarted = await dashboard.act("wait-4", "restart", {"new_id": "1"})
    assert restarted.status == 303
    new_id = restarted.headers["Location"].split("/")[-1].split("?")[0]
    assert new_id != "wait-4"
    again = await served.client.get_instance(new_id)
    assert again is not None and again.input == json.dumps({"n": 1})
    purged = await dashboard.act("wait-4", "purge")
    assert purged.status == 303 and purged.headers["Location"] == "/_devhost/?purged=wait-4"
    assert await served.client.get_instance("wait-4") is None


async def test_a_refused_action_says_why_and_changes_nothing(served: ServedApp,
                                                             dashboard: Dashboard) -> None:
    """Event data that is not JSON, an event for an ended instance and an unknown
    instance each answer with a message; the instance stays as it was."""
    await waiting(served, "wait-5")
    bad = await dashboard.act("wait-5", "raise-event", {"name": "Approval", "data": "{nope"})
    assert bad.status == 409 and "not JSON" in bad.text
    assert (await served.client.get_history("wait-5"))[-1]["EventType"] != 15
    assert (await served.client.get_instance("wait-5")).runtime_status == RuntimeStatus.RUNNING
    await served.client.start_new("Echo", "echo-done", "1")
    await served.client.wait_for("echo-done")
    ended = await dashboard.act("echo-done", "terminate", token=await dashboard.token("wait-5"))
    assert ended.status == 409 and "has ended" in ended.text
    unknown = await dashboard.act("nobody", "purge", token=await dashboard.token("wait-5"))
    assert unknown.status == 404 and "no instance" in unknown.text


async def test_a_cross_origin_post_is_refused(served: ServedApp, dashboard: Dashboard) -> None:
    """A POST from another origin is refused even with the right token, and so is one
    without Origin, without the token or with a token of another run; the instance runs on."""
    await waiting(served, "wait-6")
    token = await dashboard.token("wait-6")
    attempts = [
        await dashboard.act("wait-6", "terminate", origin="http://evil.test", token=token),
        await dashboard.act("wait-6", "terminate", origin=None, token=token),
        await dashboard.act("wait-6", "terminate", token=None),
        await dashboard.act("wait-6", "terminate", token="from-an-earlier-run"),
    ]
    assert [attempt.status for attempt in attempts] == [403, 403, 403, 403]
    record = await served.client.get_instance("wait-6")
    assert record is not None and record.runtime_status == RuntimeStatus.RUNNING


async def test_a_rebound_host_name_is_refused(served: ServedApp, dashboard: Dashboard) -> None:
    """On a loopback-only host the dashboard answers only loopback names on its port, so a
    page whose name was rebound to 127.0.0.1 reads nothing."""
    port = served.front_end.port
    for host in ("127.0.0.1", "localhost", "[::1]"):
        assert (await dashboard.get("/_devhost/", {"Host": f"{host}:{port}"})).status == 200
    refused = await dashboard.get("/_devhost/", {"Host": f"evil.test:{port}"})
    assert refused.status == 403 and "instance" not in listed_ids(refused.text)


async def test_pages_refuse_framing_and_load_only_their_own_files(
        dashboard: Dashboard) -> None:
    """Every page forbids framing (no clickjacking of its buttons) and loads scripts and
    styles only from the dashboard itself."""
    page = await dashboard.get("/_devhost/")
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert (await dashboard.get("/_devhost/static/dashboard.css")).status == 200
    assert (await dashboard.get("/_devhost/static/../keys.json")).status == 404


async def test_beyond_loopback_the_master_key_opens_a_session(
        write_app: AppWriter, serve_app: AppServer) -> None:
    """Listening on every address, the dashboard needs the master key: none or the
    function key is refused; ``?code=`` with the master key sets a session cookie and
    drops the key from the address; the cookie then opens the pages."""
    served = await serve_app(write_app(APP), host="0.0.0.0")
    base = served.front_end.base_url
    # unsafe=True: keep cookies of an IP address, as browsers do.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{base}/_devhost/") as answer:
            assert answer.status == 403
        async with session.get(f"{base}/_devhost/?code={served.keys.function_key}") as answer:
            assert answer.status == 403
        async with session.get(f"{base}/_devhost/?code={served.keys.master_key}",
                               allow_redirects=False) as answer:
            assert answer.status == 303 and answer.headers["Location"] == "/_devhost/"
            assert "HttpOnly" in answer.headers["Set-Cookie"]
            assert "SameSite=Strict" in answer.headers["Set-Cookie"]
        async with session.get(f"{base}/_devhost/") as answer:
            assert answer.status == 200
    async with aiohttp.ClientSession() as fresh, fresh.get(
            f"{base}/_devhost/", headers={"x-functions-key": served.keys.master_key}) as answer:
        assert answer.status == 200


async def test_the_durable_clients_rpc_base_is_not_the_dashboards(
        served: ServedApp, dashboard: Dashboard) -> None:
    """The SDK client's secret RPC base lies under ``/_devhost/`` too and still answers as
    the management API: 404 without a body for an unknown instance."""
    rpc = json.loads(served.front_end.client_binding_json())["rpcBaseUrl"]
    async with dashboard.session.get(f"{rpc}instances/nobody") as answer:
        assert answer.status == 404 and await answer.read() == b""
