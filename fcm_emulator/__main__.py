"""Run the FCM emulator alone: ``python -m fcm_emulator --host 127.0.0.1 --port 9099``."""

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from fcm_emulator.server import FcmEmulator
from fcm_emulator.simulator import DEFAULT_APP_URL


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m fcm_emulator", description="A local FCM HTTP v1 emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9099, help="port, 0 for a free one")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument("--app-url", default=DEFAULT_APP_URL,
                        help=f"the app's API base the device simulator uses ({DEFAULT_APP_URL})")
    return parser.parse_args(argv)


async def _serve(host: str, port: int, access_log: bool, app_url: str) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Windows has no loop signal handlers; Ctrl+C then ends asyncio.run instead.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    emulator = FcmEmulator(access_log=access_log, app_url=app_url)
    await emulator.start(host, port)
    try:
        # One line, flushed, so a parent process can read the address it got.
        print(f"FCM emulator listening on {emulator.base_url}", flush=True)
        print(f"device simulator: {emulator.base_url}/?token=<a device token>", flush=True)
        await stop.wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _arguments(argv)
    if args.access_log:
        logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.access_log, args.app_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
