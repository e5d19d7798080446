"""Starting, stopping and steering the emulator: in-loop, in a thread, over HTTP, as a program."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import aiohttp
import pytest
import requests

from fcm_emulator import FcmEmulator
from tests.support import APP_DIR

AUTH = {"Authorization": "Bearer test-token"}
ROOT = APP_DIR


async def test_start_on_free_port_and_stop() -> None:
    """start() on port 0 binds a real port; after stop() the port refuses connections."""
    emulator = FcmEmulator()
    await emulator.start(host="127.0.0.1", port=0)
    assert emulator.port > 0
    assert emulator.host_port == f"127.0.0.1:{emulator.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{emulator.base_url}/emulator/health") as response:
            assert (await response.json())["status"] == "ok"
        await emulator.stop()
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{emulator.base_url}/emulator/health")


async def test_stop_ends_a_slow_answer_at_once() -> None:
    """A pending slow answer does not hold up stop()."""
    emulator = FcmEmulator()
    await emulator.start()
    emulator.queue_fault(503, delay_seconds=60)
    async with aiohttp.ClientSession() as session:
        pending = asyncio.ensure_future(
            session.post(
                f"{emulator.base_url}/v1/projects/p/messages:send",
                json={"message": {"token": "t"}},
                headers=AUTH,
            )
        )
        while not emulator.requests():  # noqa: ASYNC110 - the emulator has no arrival event
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await emulator.stop()
        assert time.monotonic() - started < 5
        pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)


def test_running_in_thread_stops_its_thread() -> None:
    """The thread helper serves inside the block and leaves no thread behind."""
    with FcmEmulator.running_in_thread() as emulator:
        assert requests.get(f"{emulator.base_url}/emulator/health", timeout=5).ok
        base_url = emulator.base_url
    assert all(t.name != "fcm-emulator" for t in threading.enumerate())
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base_url}/emulator/health", timeout=5)


def test_queued_faults_answer_in_order_then_normal(fcm: FcmEmulator) -> None:
    """`count` faults answer the next sends with the status and Retry-After, then normal resumes."""
    fcm.queue_fault(429, count=2, retry_after=7)
    url = f"{fcm.base_url}/v1/projects/p/messages:send"
    body = {"message": {"token": "t"}}
    for _ in range(2):
        response = requests.post(url, json=body, headers=AUTH, timeout=5)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        assert response.json()["error"]["details"][0]["errorCode"] == "QUOTA_EXCEEDED"
    assert requests.post(url, json=body, headers=AUTH, timeout=5).status_code == 200
    assert [r["status"] for r in fcm.requests()] == [429, 429, 200]


def test_http_controls(fcm: FcmEmulator) -> None:
    """The /emulator routes unregister tokens, queue faults, list by token and reset."""
    base = fcm.base_url
    url = f"{base}/v1/projects/p/messages:send"
    for token in ("a", "b", "a"):
        requests.post(url, json={"message": {"token": token}}, headers=AUTH, timeout=5)
    listed = requests.get(f"{base}/emulator/messages", params={"token": "a"}, timeout=5).json()
    assert [m["token"] for m in listed["messages"]] == ["a", "a"]

    # Real FCM tokens contain colons; the route must keep them in the token.
    token = "fGx:APA91b-xyz"
    assert requests.post(f"{base}/emulator/tokens/{token}:unregister", timeout=5).ok
    dead = requests.post(url, json={"message": {"token": token}}, headers=AUTH, timeout=5)
    assert dead.status_code == 404

    fault = {"status": 503, "count": 1, "retryAfter": 3}
    assert requests.post(f"{base}/emulator/faults", json=fault, timeout=5).status_code == 201
    assert (
        requests.post(url, json={"message": {"token": "a"}}, headers=AUTH, timeout=5).status_code
        == 503
    )

    assert requests.delete(f"{base}/emulator/messages", timeout=5).status_code == 204
    assert fcm.messages() == []
    revived = requests.post(url, json={"message": {"token": token}}, headers=AUTH, timeout=5)
    assert revived.status_code == 200


@pytest.mark.parametrize(
    "fault",
    [{}, {"status": "503"}, {"status": 200.5}, {"status": 302}, {"status": 503, "count": 0}],
)
def test_bad_fault_requests_are_refused(fcm: FcmEmulator, fault: dict[str, Any]) -> None:
    """A malformed fault request is a 400 and queues nothing."""
    base = fcm.base_url
    assert requests.post(f"{base}/emulator/faults", json=fault, timeout=5).status_code == 400
    response = requests.post(
        f"{base}/v1/projects/p/messages:send",
        json={"message": {"token": "t"}},
        headers=AUTH,
        timeout=5,
    )
    assert response.status_code == 200


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_module_runs_alone_and_stops_on_signal(signum: signal.Signals) -> None:
    """`python -m fcm_emulator` prints its address, serves, and exits 0 on SIGINT/SIGTERM."""
    with subprocess.Popen(
        [sys.executable, "-m", "fcm_emulator", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as process:
        try:
            assert process.stdout is not None
            address = process.stdout.readline().strip().rsplit(" ", 1)[-1]
            assert address.startswith("http://127.0.0.1:")
            assert requests.get(f"{address}/emulator/health", timeout=5).ok
            process.send_signal(signum)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:  # only the process this test started
                process.kill()
