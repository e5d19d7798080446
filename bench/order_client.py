"""The phones and the staff of the order benchmark, in a process of their own.

``python -m bench.order_client BASE_URL FUNCTION_KEY`` places and approves orders over HTTP
as it is told on standard input, one JSON object a line, and reports each answer on
standard output, one JSON object a line:

- ``{"place": ORDER_ID}`` -> ``{"placed": ORDER_ID, "status": 202, "error": null}``
- ``{"approve": ORDER_ID}`` -> ``{"approved": ORDER_ID, "status": 202, "sentAt": ISO,
  "error": null}`` (``sentAt``: when the accepted request was sent)

It exits once its input closes and every request has been answered. In the host's
process these clients would take the host's CPU, which real phones never do.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timezone
from typing import Any

import aiohttp

HTTP_CONNECTIONS = 64
APPROVE_RETRIES = 20
APPROVE_RETRY_SECONDS = 0.02
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

    async def place(self, order_id: str) -> None:
        """POST the order; report its status (202 expected)."""
        body = {"regId": device_token(order_id), "orderId": order_id, "items": [PIZZA]}
        answer: dict[str, Any] = {"placed": order_id, "status": None, "error": None}
        try:
            async with self.session.post(f"{self.base_url}/api/orders", json=body) as reply:
                answer["status"] = reply.status
                if reply.status != 202:
                    answer["error"] = await reply.text()
        except aiohttp.ClientError as error:
            answer["error"] = repr(error)
        self.report(answer)

    async def approve(self, order_id: str) -> None:
        """POST the approval, again while the route says it is too early (409)."""
        url = f"{self.base_url}/api/orders/{order_id}/approve"
        answer: dict[str, Any] = {"approved": order_id, "status": None, "sentAt": None,
                                  "error": None}
        try:
            for _attempt in range(APPROVE_RETRIES):
                sent = datetime.now(timezone.utc)
                async with self.session.post(url, json=APPROVAL,
                                             headers={"x-functions-key": self.key}) as reply:
                    answer["status"] = reply.status
                    if reply.status == 202:
                        answer["sentAt"] = sent.isoformat()
                        break
                    answer["error"] = await reply.text()
                if reply.status != 409:
                    break
                await asyncio.sleep(APPROVE_RETRY_SECONDS)  # not visible to the route yet
            else:
                answer["error"] = f"still 409 after {APPROVE_RETRIES} tries: {answer['error']}"
        except aiohttp.ClientError as error:
            answer["error"] = repr(error)
        if answer["status"] == 202:
            answer["error"] = None
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
