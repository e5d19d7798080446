"""The order app on a LocalHost over a memory task hub and a virtual clock, and raw HTTP to it.

The ``host`` fixture gives every test its own host (free port, FCM emulator, clock), and
puts back afterwards what hosting changed in this process: the environment variables it
exported, ``sys.path`` and ``function_app``. Also here: waiting conditions on an order's
record, and the tally of hostile inputs each route was sent.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from hypothesis import HealthCheck, settings
from yarl import URL

from devhost.app.settings import HostSettings
from devhost.clock import VirtualClock
from devhost.engine.client import DurableClient
from devhost.engine.protocol import EventType
from devhost.host import LocalHost
from devhost.taskhub.base import (
    ActivityWorkItem,
    InstanceRecord,
    OrchestrationWorkItem,
    RuntimeStatus,
    TaskHub,
)
from devhost.taskhub.memory import MemoryTaskHub
from fcm_emulator import FcmEmulator
from tests.support import APP_DIR
from tests.support.process_state import forget_sdk_session, process_state_kept

WEBHOOK = "/runtime/webhooks/durabletask"
TERMINAL_STAGES = frozenset({"finished", "cancelled", "expired"})
WAIT_SECONDS = 15.0

# One fixed, database-less profile: the same examples on every run and every machine.
HOSTILE = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# How many hostile inputs each route was sent, reported at the end of the run.
TRIED: Counter[str] = Counter()


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, headers, raw text and the JSON body (None if not JSON)."""

    status: int
    headers: Mapping[str, str]
    text: str
    body: Any


def segment(value: str) -> str:
    """``value`` as one percent-encoded path segment (every reserved character escaped)."""
    return quote(value, safe="")


class HttpApi:
    """Raw HTTP to a LocalHost: the app's routes and the management API, keys as asked."""

    def __init__(self, session: aiohttp.ClientSession, host: LocalHost) -> None:
        """Talk to ``host`` through ``session``."""
        self.session = session
        self.host = host

    @property
    def keys(self) -> Any:
        """The host's keys."""
        assert self.host.keys is not None
        return self.host.keys

    async def request(self, method: str, path: str, *, data: bytes | str | None = None,
                      json_body: Any = None, headers: Mapping[str, str] | None = None,
                      query: str = "", route: str = "") -> Reply:
        """Send ``method`` to the raw, already percent-encoded ``path`` (plus ``query``).

        ``route`` names the route for the hostile-input tally; empty counts nothing.
        """
        url = URL(self.host.base_url + path + (f"?{query}" if query else ""), encoded=True)
        sent_headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body)
            sent_headers.setdefault("content-type", "application/json")
        if route:
            TRIED[route] += 1
        async with self.session.request(method, url, data=data, headers=sent_headers) as answer:
            text = await answer.text(errors="replace")
            try:
                body = json.loads(text) if text else None
            except ValueError:
                body = None
            return Reply(answer.status, dict(answer.headers), text, body)

    async def place(self, body: Any = None, *, raw: bytes | None = None,
                    route: str = "") -> Reply:
        """``POST /api/orders`` with a JSON ``body`` or ``raw`` bytes."""
        if raw is not None:
            return await self.request("POST", "/api/orders", data=raw,
                                      headers={"content-type": "application/json"},
                                      route=route)
        return await self.request("POST", "/api/orders", json_body=body, route=route)

    async def status(self, order_segment: str, *, route: str = "") -> Reply:
        """``GET /api/orders/{orderId}`` for an already encoded id segment."""
        return await self.request("GET", f"/api/orders/{order_segment}", route=route)

    async def approve(self, order_segment: str, body: Any = None, *, raw: bytes | None = None,
                      key: str | None = "function", route: str = "") -> Reply:
        """``POST /api/orders/{orderId}/approve`` with the function key (or ``key`` named)."""
        headers = {"content-type": "application/json"}
        if key is not None:
            headers["x-functions-key"] = self.key(key)
        data = raw if raw is not None else json.dumps(body).encode()
        return await self.request("POST", f"/api/orders/{order_segment}/approve", data=data,
                                  headers=headers, route=route)

    def key(self, which: str) -> str:
        """The host's ``function``, ``master`` or ``system`` key, or a ``wrong`` one."""
        if which == "wrong":
            return "not-a-key-" + "x" * 32
        return str(getattr(self.keys, f"{which}_key"))

    async def management(self, method: str, path: str, *, key: str | None = "system",
                         data: bytes | None = None, route: str = "") -> Reply:
        """A management API call below ``/runtime/webhooks/durabletask/`` with ``code=``."""
        query = f"code={segment(self.key(key))}" if key is not None else ""
        return await self.request(method, f"{WEBHOOK}/{path}", data=data, query=query,
                                  headers={"content-type": "application/json"}, route=route)


# The app and its host --------------------------------------------------------------------------

def base_settings(fcm: FcmEmulator) -> dict[str, str]:
    """The app settings every hardening host runs with: fast, pushing to the emulator."""
    return {
        "FCM_EMULATOR_HOST": fcm.host_port,
        "FCM_PROJECT_ID": "hardening-project",
        "FCM_TIMEOUT_SECONDS": "5",
        "GOOGLE_APPLICATION_CREDENTIALS": "",
        "FCM_SERVICE_ACCOUNT_JSON": "",
        "BACKEND_ACTION_DELAY_SECONDS": "0",
        "APPROVAL_TIMEOUT_SECONDS": "1800",
        "PUSH_MAX_ATTEMPTS": "3",
        "PUSH_FIRST_RETRY_MILLISECONDS": "1000",
    }


# Reading orders --------------------------------------------------------------------------------

def custom_status(record: InstanceRecord | None) -> dict[str, Any]:
    """The order's published journey ({} before the first episode)."""
    if record is None or record.custom_status is None:
        return {}
    value: dict[str, Any] = json.loads(record.custom_status)
    return value


def stage_of(record: InstanceRecord | None) -> str | None:
    """The stage the custom status shows."""
    return custom_status(record).get("stage")


def outcome_of(record: InstanceRecord | None) -> str | None:
    """The approval outcome the custom status shows, once decided."""
    approval = custom_status(record).get("approval") or {}
    return approval.get("outcome")


def at_stage(stage: str) -> Callable[[InstanceRecord], bool]:
    """A ``wait_for`` condition: the order shows ``stage``."""
    return lambda record: stage_of(record) == stage


def decided(record: InstanceRecord) -> bool:
    """A ``wait_for`` condition: the approval's outcome is recorded."""
    return outcome_of(record) is not None


def ended(record: InstanceRecord) -> bool:
    """A ``wait_for`` condition: the instance completed, failed or was terminated."""
    return record.runtime_status.has_ended


def events_of(history: list[dict[str, Any]], kind: EventType) -> list[dict[str, Any]]:
    """The history events of one type, in order."""
    return [event for event in history if event["EventType"] == kind]


def terminal_entries(record: InstanceRecord) -> list[dict[str, Any]]:
    """Timeline entries of terminal stages (an order must have exactly one)."""
    return [entry for entry in custom_status(record).get("timeline", [])
            if entry["stage"] in TERMINAL_STAGES]


def assert_completed_once(record: InstanceRecord, fcm: FcmEmulator, token: str,
                          delivered: bool = True) -> str:
    """The order completed (never failed) in exactly one terminal stage; return that stage.

    With ``delivered`` the emulator also accepted exactly one push of a terminal stage.
    """
    assert record.runtime_status == RuntimeStatus.COMPLETED, record.output
    final = stage_of(record)
    assert final in TERMINAL_STAGES
    assert [entry["stage"] for entry in terminal_entries(record)] == [final]
    output = json.loads(record.output or "[]")
    assert [result["stage"] for result in output][-1] == final
    if not delivered:
        return str(final)
    final_pushes = [m for m in fcm.messages(token)
                    if m["data"]["orderId"] == record.instance_id
                    and m["data"]["stage"] in TERMINAL_STAGES]
    assert [m["data"]["stage"] for m in final_pushes] == [final]
    return str(final)


def order_body(order_id: str, token: str, **extra: Any) -> dict[str, Any]:
    """A valid place-order body."""
    return {"orderId": order_id, "regId": token,
            "items": [{"name": "Neapolitan pizza with pineapple", "quantity": 1}], **extra}



# Holding the workers, watching the front end's calls --------------------------------------------

class GatedTaskHub(MemoryTaskHub):
    """A memory task hub whose work can be held back: episodes, or activities past a budget.

    A work item fetched while held waits, leased, until the test lets it go; so an instance
    can be kept Pending (no episode) or at a stage (its next push not run) for as long as a
    test needs, without a timing race. Open by default: then it is a plain MemoryTaskHub.
    """

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(clock)
        self._episodes = asyncio.Event()
        self._episodes.set()
        self._activities_left: int | None = None
        self._budget_changed = asyncio.Event()

    def hold_episodes(self) -> None:
        """Run no orchestration episode until :meth:`release_episodes`."""
        self._episodes.clear()

    def release_episodes(self) -> None:
        """Run episodes again, the held one first."""
        self._episodes.set()

    def allow_activities(self, count: int | None) -> None:
        """Let ``count`` more activities run, then hold the rest (None: no limit)."""
        self._activities_left = count
        self._budget_changed.set()

    async def fetch_orchestration_work(self, wait_seconds: float
                                       ) -> OrchestrationWorkItem | None:
        """A work item as the memory hub leases it, handed out only while episodes run."""
        item = await super().fetch_orchestration_work(wait_seconds)
        if item is not None:
            await self._episodes.wait()
        return item

    async def fetch_activity_work(self, wait_seconds: float) -> ActivityWorkItem | None:
        """An activity as the memory hub leases it, handed out only within the budget."""
        item = await super().fetch_activity_work(wait_seconds)
        if item is None:
            return None
        while self._activities_left == 0:
            self._budget_changed.clear()
            await self._budget_changed.wait()
        if self._activities_left is not None:
            self._activities_left -= 1
        return item


@dataclass(frozen=True)
class ServiceCall:
    """One call the HTTP front end made on the durable runtime, with its arguments."""

    method: str
    args: tuple[Any, ...]


@dataclass
class ServiceCalls:
    """The calls the front end (and so the SDK client of the app's routes) made on the runtime.

    ``before_next(method, action)`` runs ``action`` once just before the next such call goes
    through: how a test makes something really happen between a route's check and its act.
    """

    made: list[ServiceCall] = field(default_factory=list)
    started: list[tuple[str, str, Any]] = field(default_factory=list)
    _before: dict[str, list[Callable[[], Awaitable[None]]]] = field(default_factory=dict)

    METHODS = ("start_new", "raise_event", "terminate", "get_instance", "get_history",
               "query", "purge")

    def watch(self, service: Any) -> None:
        """Record every durable client call made on ``service`` from now on."""
        for name in self.METHODS:
            setattr(service, name, self._recording(name, getattr(service, name)))

    def _recording(self, name: str, call: Callable[..., Awaitable[Any]]
                   ) -> Callable[..., Awaitable[Any]]:
        async def recorded(*args: Any, **options: Any) -> Any:
            self.made.append(ServiceCall(name, args))
            for action in self._before.pop(name, []):
                await action()
            result = await call(*args, **options)
            if name == "start_new":
                self.started.append((args[0], result, decoded(args[2])))
            return result
        return recorded

    def before_next(self, method: str, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` once, just before the next ``method`` call reaches the runtime."""
        self._before.setdefault(method, []).append(action)

    def methods(self) -> list[str]:
        """The names of the calls made, in order."""
        return [call.method for call in self.made]


def decoded(text: str | None) -> Any:
    """A stored input or event payload as a JSON value (the SDK client encodes it twice)."""
    value: Any = text
    while isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            break
    return value


def runtime_of(host: LocalHost) -> Any:
    """The host's durable runtime."""
    assert host.runtime is not None
    return host.runtime


def client_of(host: LocalHost) -> DurableClient:
    """The host's durable client."""
    assert host.runtime is not None
    return host.runtime.client


def hub_of(host: LocalHost) -> GatedTaskHub:
    """The host's task hub (read it directly: those reads are not front-end calls)."""
    hub = runtime_of(host).hub
    assert isinstance(hub, GatedTaskHub)
    return hub


def api_url(api: HttpApi) -> str:
    """Where the host serves the app's routes."""
    return f"{api.host.base_url}/api"


async def record_of(host: LocalHost, order_id: str) -> InstanceRecord:
    """The order's instance record, read from the task hub (it must exist)."""
    record = await hub_of(host).get_instance(order_id)
    assert record is not None
    return record


def body_of(reply: Reply) -> Any:
    """The JSON body of an answer, which must say it is JSON."""
    assert reply.headers["Content-Type"].startswith("application/json")
    return json.loads(reply.text)


def details_of(reply: Reply) -> list[dict[str, Any]]:
    """The details of an app's error answer, after checking its shape."""
    body = body_of(reply)
    assert isinstance(body["error"], str) and body["error"]
    details: list[dict[str, Any]] = body["details"]
    return details


def assert_nothing_leaks(reply: Reply, *secrets: str) -> None:
    """Neither body nor headers carry a management URL, a key, or one of ``secrets``."""
    text = reply.text + json.dumps(dict(reply.headers))
    for secret in ("statusQueryGetUri", "sendEventPostUri", "code=", "runtime/webhooks",
                   *secrets):
        assert secret not in text


# Fixtures ---------------------------------------------------------------------------------------

@pytest.fixture
def clock() -> VirtualClock:
    """The task hub's clock; it moves only when the test advances it."""
    return VirtualClock()


@pytest.fixture
def app_settings(fcm: FcmEmulator) -> dict[str, str]:
    """The settings the host starts with; a test module may override this fixture."""
    return base_settings(fcm)


@pytest.fixture
async def host(monkeypatch: pytest.MonkeyPatch, clock: VirtualClock,
               app_settings: dict[str, str]) -> AsyncIterator[LocalHost]:
    """The order app on a LocalHost (memory hub, virtual clock, free port), settings set first."""
    def task_hub(settings: HostSettings) -> TaskHub:
        return GatedTaskHub(clock)

    with process_state_kept():
        for name, value in app_settings.items():
            monkeypatch.setenv(name, value)
        forget_sdk_session()
        async with LocalHost(APP_DIR, task_hub, port=0) as local:
            yield local


@pytest.fixture
def calls(host: LocalHost) -> ServiceCalls:
    """The calls the front end makes on the host's durable runtime from now on."""
    watched = ServiceCalls()
    watched.watch(client_of(host))
    return watched


@pytest.fixture
async def api(host: LocalHost) -> AsyncIterator[HttpApi]:
    """Raw HTTP to the host."""
    async with aiohttp.ClientSession() as session:
        yield HttpApi(session, host)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report how many hostile inputs each route was sent."""
    if not TRIED:
        return
    terminalreporter.section("hostile inputs tried")
    for route, count in sorted(TRIED.items()):
        terminalreporter.write_line(f"{count:6d}  {route}")
    terminalreporter.write_line(f"{sum(TRIED.values()):6d}  in total")
