"""A replay worker process: ``python -m devhost.engine.replay_worker APP_DIR``.

It imports the app's ``function_app`` as the host did, then answers episodes one at a time
over its standard input and output (see ``devhost.engine.replay_processes``). It exits when
its input closes, so a host that dies, even by SIGKILL, leaves no worker behind.

Frames are a 4-byte big-endian length and that many bytes. The first frame out says
whether the app loaded. A request is the orchestrator's name, a newline and the context
JSON; an answer is one kind byte and its text:
- ``O``: the SDK's state JSON;
- ``R``: the SDK raised (the user's generator raised): the exception's text, which ends
  with the SDK's state marker;
- ``E``: anything else raised: ``Type: text`` (the traceback goes to the worker's stderr).
"""

from __future__ import annotations

import logging
import os
import signal
import struct
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from devhost.engine.sdk_call import OUT_OF_PROC_MARKER

READY = b"ready"
LOAD_FAILED = b"!"
STATE = b"O"
SDK_RAISED = b"R"
OTHER_ERROR = b"E"

_LENGTH = struct.Struct(">I")

log = logging.getLogger(__name__)


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    """Send one frame and flush it."""
    stream.write(_LENGTH.pack(len(payload)) + payload)
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame, or None once the other side has closed the stream."""
    header = _read_exactly(stream, _LENGTH.size)
    if header is None:
        return None
    (size,) = _LENGTH.unpack(header)
    return _read_exactly(stream, size) if size else b""


def _private_streams() -> tuple[IO[bytes], IO[bytes]]:
    """The protocol's own copies of stdin/stdout; user code printing goes to stderr."""
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    answers = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return requests, answers


def answer(handle_by_name: Mapping[str, Callable[[str], str]], request: bytes) -> bytes:
    """Run one episode request and encode its answer frame."""
    name, _, context = request.decode("utf-8").partition("\n")
    try:
        handle = handle_by_name[name]
        state = handle(context)
    except Exception as raised:  # noqa: BLE001 - user code may raise anything
        text = str(raised)
        if OUT_OF_PROC_MARKER in text:
            return SDK_RAISED + text.encode("utf-8")
        log.error("orchestrator %s raised outside the SDK's contract:\n%s", name,
                  traceback.format_exc())
        return OTHER_ERROR + f"{type(raised).__name__}: {text}".encode()
    return STATE + state.encode("utf-8")


def serve(app_dir: Path) -> int:
    """Load the app, then answer episodes until the host closes our input."""
    # Ctrl-C reaches the whole process group; the host decides when its workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, answers = _private_streams()
    try:
        from devhost.app.loader import load_app  # imported here: it imports the functions library

        index = load_app(app_dir)
    except Exception as failed:  # noqa: BLE001 - reported to the host, which refuses to start
        write_frame(answers, LOAD_FAILED + f"{type(failed).__name__}: {failed}".encode())
        return 1
    handles = {name: function.handle for name, function in index.orchestrators.items()}
    write_frame(answers, READY)
    while (request := read_frame(requests)) is not None:
        write_frame(answers, answer(handles, request))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: the app folder is the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m devhost.engine.replay_worker APP_DIR", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=int(os.environ.get("DEVHOST_REPLAY_LOG_LEVEL", logging.WARNING)),
        format="%(asctime)s %(levelname)s %(name)s [replay worker]: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_said_by_the_host)
    return serve(Path(args[0]))


def _said_by_the_host(record: logging.LogRecord) -> bool:
    """Drop what the host already logged when it loaded the same app: the functions
    library's warning that auth levels do not apply to non-HTTP functions."""
    return "Auth level is not applied" not in record.getMessage()


if __name__ == "__main__":
    sys.exit(main())
