"""``FcmEmulator``: start and stop the server, and look inside it from tests."""

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from fcm_emulator.app import build_app
from fcm_emulator.simulator import DEFAULT_APP_URL
from fcm_emulator.state import EmulatorState, Fault

_STOP_TIMEOUT_SECONDS = 10.0


class FcmEmulator:
    """A local stand-in for FCM HTTP v1, with inspection and fault injection.

    Start it on a loop with ``await start()``, or from plain code with
    ``with FcmEmulator.running_in_thread() as emu:``. The inspection methods are safe to
    call from any thread.
    """

    def __init__(self, *, access_log: bool = False, app_url: str = DEFAULT_APP_URL) -> None:
        """A stopped emulator; ``access_log`` turns on aiohttp's per-request log lines;
        ``app_url`` is the API base the device simulator places orders with."""
        self._app_url = [app_url]
        self._state = EmulatorState()
        self._access_log = access_log
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._address: tuple[str, int] | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port``; port 0 picks a free one (read it from ``port``)."""
        if self._runner is not None:
            raise RuntimeError("the FCM emulator is already running")
        self._stopping = asyncio.Event()
        # access_log=None silences aiohttp's line per request unless asked for.
        options: dict[str, Any] = {} if self._access_log else {"access_log": None}
        runner = web.AppRunner(
            build_app(self._state, self._stopping, self._app_url),
            # Cancel a slow answer whose client gave up, as a real server would stop working on it.
            handler_cancellation=True,
            shutdown_timeout=2.0,
            **options,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        bound = runner.addresses[0]
        self._address = (str(bound[0]), int(bound[1]))
        self._runner = runner

    async def stop(self) -> None:
        """Stop listening and end any slow answer still pending; idempotent."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if self._stopping is not None:
            self._stopping.set()
        await runner.cleanup()

    @property
    def app_url(self) -> str:
        """The API base the device simulator places orders with."""
        return self._app_url[0]

    @app_url.setter
    def app_url(self, value: str) -> None:
        self._app_url[0] = value

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._bound()[1]

    @property
    def host_port(self) -> str:
        """``host:port``, the value for ``FCM_EMULATOR_HOST``."""
        host, port = self._bound()
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def base_url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host_port}"

    def _bound(self) -> tuple[str, int]:
        """The bound address, or an error before ``start``."""
        if self._address is None:
            raise RuntimeError("the FCM emulator has not been started")
        return self._address

    def messages(self, token: str | None = None) -> list[dict[str, Any]]:
        """Accepted messages (as received, plus ``receivedAt`` and ``name``), oldest first."""
        return self._state.messages(token)

    def requests(self) -> list[dict[str, Any]]:
        """Every send request seen since the last reset, with the status it was answered."""
        return self._state.requests()

    def mark_unregistered(self, token: str) -> None:
        """Make sends to ``token`` answer 404 UNREGISTERED from now on."""
        self._state.mark_unregistered(token)

    def queue_fault(
        self,
        status: int,
        *,
        count: int = 1,
        retry_after: int | None = None,
        delay_seconds: float = 0,
    ) -> None:
        """Answer the next ``count`` sends with ``status`` and an FCM-shaped error body.

        ``retry_after`` adds a ``Retry-After`` header; ``delay_seconds`` answers that late.
        Status 200 with a delay gives a slow but normal answer.
        """
        self._state.queue_fault(Fault(status, retry_after, float(delay_seconds)), count)

    def reset(self) -> None:
        """Forget messages, unregistered tokens, queued faults and the request log."""
        self._state.reset()

    @classmethod
    @contextlib.contextmanager
    def running_in_thread(
        cls, host: str = "127.0.0.1", port: int = 0, **kwargs: Any
    ) -> Iterator["FcmEmulator"]:
        """Run an emulator on its own loop in a daemon thread for the ``with`` block."""
        emulator = cls(**kwargs)
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failures: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(emulator.start(host, port))
            except BaseException as err:  # noqa: BLE001 - handed to the starting thread
                failures.append(err)
            started.set()
            if not failures:
                loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        thread = threading.Thread(target=serve, name="fcm-emulator", daemon=True)
        thread.start()
        started.wait()
        if failures:
            thread.join(_STOP_TIMEOUT_SECONDS)
            raise RuntimeError("the FCM emulator did not start") from failures[0]
        try:
            yield emulator
        finally:
            asyncio.run_coroutine_threadsafe(emulator.stop(), loop).result(_STOP_TIMEOUT_SECONDS)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_STOP_TIMEOUT_SECONDS)
