"""The phones and the staff of the order benchmark, in a process of their own.

``python -m bench.order_client BASE_URL FUNCTION_KEY`` places and approves orders over HTTP
as it is told on standard input, one JSON object a line, and reports each answer on
standard output, one JSON object a line:

- ``{"place": ORDER_ID}`` -> ``{"placed": ORDER_ID, "status": 202, "error": null}``
- ``{"approve": ORDER_ID}`` -> ``{"approved": ORDER_ID, "status": 202, "sentAt": ISO,
  "error": null}`` (``sentAt``: when the request that was accepted went out)

Like the app's real clients it tries again where the API says to: a 503 after its
Retry-After, an approval the order is not ready for (409) shortly after.

It exits once its input closes and every request has been answered. In the host's
process these clients would take the host's CPU, which real phones never do.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime, timezone
from typing import Any

import aiohttp

HTTP_CONNECTIONS = 64
# While the route says the order is not waiting for approval yet (409), look again soon.
APPROVE_RETRY_SECONDS = 0.02
MAX_APPROVE_REQUESTS = 200
# A 503's Retry-After is honoured up to this long; it is also the wait when it names none.
UNAVAILABLE_WAIT_SECONDS = 2.0
# How long a request is tried again while the host answers 503.
GIVE_UP_SECONDS = 120.0
PIZZA = {"name": "Neapolitan pizza with pineapple", "quantity": 1}
APPROVAL = {"approved": True, "note": "no pineapple on a Neapolitan"}


def device_token(order_id: str) -> str:
    """The device token of the order's phone (one per order)."""
    return f"bench-device-{order_id}"


class OrderClient:
    """Sends the requests it is told to and writes their answers."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, key: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.key = key

    @staticmethod
    def report(answer: dict[str, Any]) -> None:
        """One answer line on stdout."""
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()

    async def _post(self, url: str, body: dict[str, Any], headers: dict[str, str] | None = None
                    ) -> tuple[int, str, float]:
        """POST once: the status, the body text, and how long a 503 asks us to wait."""
        async with self.session.post(url, json=body, headers=headers) as reply:
            text = await reply.text()
            wait = float(reply.headers.get("Retry-After") or UNAVAILABLE_WAIT_SECONDS)
            return reply.status, text, min(wait, UNAVAILABLE_WAIT_SECONDS)

    async def place(self, order_id: str) -> None:
        """POST the order until it is placed: 202, or 200 for a retry after a 503 (the
        app's answer to an order id it already runs with the same content)."""
        body = {"regId": device_token(order_id), "orderId": order_id, "items": [PIZZA]}
        answer: dict[str, Any] = {"placed": order_id, "status": None, "error": None}
        deadline = time.monotonic() + GIVE_UP_SECONDS
        try:
            while True:
                status, text, wait = await self._post(f"{self.base_url}/api/orders", body)
                answer["status"] = status
                if status in (200, 202):
                    answer["status"] = 202
                    break
                if status != 503 or time.monotonic() > deadline:
                    answer["error"] = text
                    break
                await asyncio.sleep(wait)  # storage is down: as the app asks, try again
        except aiohttp.ClientError as error:
            answer["error"] = repr(error)
        self.report(answer)

    async def approve(self, order_id: str) -> None:
        """POST the approval until it is accepted.

        Again shortly while the route says it is too early (409), and after the wait a
        503 asks for. Once a request went out during an outage, a later "already
        decided" (409) or "ended" (410) means that one went through; the latency then
        counts from it.
        """
        url = f"{self.base_url}/api/orders/{order_id}/approve"
        headers = {"x-functions-key": self.key}
        answer: dict[str, Any] = {"approved": order_id, "status": None, "sentAt": None,
                                  "error": None}
        deadline = time.monotonic() + GIVE_UP_SECONDS
        during_outage: datetime | None = None
        try:
            for _attempt in range(MAX_APPROVE_REQUESTS):
                sent = datetime.now(timezone.utc)
                status, text, wait = await self._post(url, APPROVAL, headers)
                answer["status"] = status
                if status == 202 or (during_outage is not None and status in (409, 410)):
                    answer["status"] = 202
                    answer["sentAt"] = (during_outage or sent).isoformat()
                    break
                if status == 503 and time.monotonic() < deadline:
                    during_outage = during_outage or sent
                    await asyncio.sleep(wait)
                elif status == 409 and "not waiting" in text:
                    await asyncio.sleep(APPROVE_RETRY_SECONDS)  # not visible to the route yet
                else:
                    answer["error"] = text
                    break
            else:
                answer["error"] = f"not accepted after {MAX_APPROVE_REQUESTS} requests"
        except aiohttp.ClientError as error:
            answer["error"] = repr(error)
        self.report(answer)


async def serve(base_url: str, key: str) -> None:
    """Follow the commands on stdin until it closes and all requests are answered."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=HTTP_CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:
        client = OrderClient(session, base_url, key)
        while line := await reader.readline():
            command = json.loads(line)
            work = (client.place(command["place"]) if "place" in command
                    else client.approve(command["approve"]))
            task = asyncio.create_task(work)
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)


def main(argv: list[str] | None = None) -> int:
    """Entry point: BASE_URL FUNCTION_KEY."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m bench.order_client BASE_URL FUNCTION_KEY", file=sys.stderr)
        return 2
    asyncio.run(serve(args[0], args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
