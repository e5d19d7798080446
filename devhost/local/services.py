"""The local stand-ins ``make run`` starts beside the host: Azurite and the FCM emulator.

Azurite keeps its data in the app's git-ignored ``.local/azurite`` folder, so instances survive
a restart. Its pid is written next to the data: if a previous ``make run`` died without
stopping it, that one process (and only it, checked by its command line) is stopped first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
from pathlib import Path

from devhost.local.azurite import AzuriteProcess, free_port
from devhost.taskhub.azure.connection import DEFAULT_PORTS
from fcm_emulator import FcmEmulator

log = logging.getLogger(__name__)

LOCAL_DIR = ".local"
AZURITE_DIR = "azurite"
PID_FILE = "azurite.pid"
LOOPBACK = "127.0.0.1"


def _listening(port: int, host: str = LOOPBACK) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.3):
        return True
    return False


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def stop_leftover_azurite(data_dir: Path) -> bool:
    """Stop an Azurite a crashed run left behind on ``data_dir``; True if there was one.

    Only the recorded pid is signalled, and only when its command line shows it is Azurite
    serving this very folder: a recycled pid belongs to someone else.
    """
    pid_file = data_dir.parent / PID_FILE
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    command = _command_line(pid)
    pid_file.unlink(missing_ok=True)
    if "azurite" not in command or str(data_dir) not in command:
        return False
    log.warning("stopping the Azurite (pid %d) a previous run left behind", pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)  # Azurite runs as the leader of its own group
    deadline = time.monotonic() + 10
    while _command_line(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return True


def start_azurite(app_dir: Path) -> AzuriteProcess:
    """Start Azurite on disk under ``app_dir/.local/azurite``.

    The default ports are used when free (so ``UseDevelopmentStorage=true`` works for other
    tools too); otherwise free ones are picked and the host gets an explicit connection
    string.
    """
    data_dir = app_dir / LOCAL_DIR / AZURITE_DIR
    data_dir.mkdir(parents=True, exist_ok=True)
    stop_leftover_azurite(data_dir)
    if any(_listening(port) for port in DEFAULT_PORTS):
        log.warning("ports %s are taken; Azurite gets free ports instead", DEFAULT_PORTS)
        azurite = AzuriteProcess(data_dir, blob_port=free_port(), queue_port=free_port(),
                                 table_port=free_port())
    else:
        blob, queue, table = DEFAULT_PORTS
        azurite = AzuriteProcess(data_dir, blob_port=blob, queue_port=queue, table_port=table)
    azurite.start()
    if azurite.pid is not None:
        (data_dir.parent / PID_FILE).write_text(str(azurite.pid))
    return azurite


def stop_azurite(azurite: AzuriteProcess) -> None:
    """Stop Azurite cleanly (it saves its data on SIGTERM) and forget its pid."""
    azurite.stop()
    if azurite.location is not None:
        (azurite.location.parent / PID_FILE).unlink(missing_ok=True)


async def start_fcm_emulator(emulator_host: str | None) -> FcmEmulator | None:
    """Start the FCM emulator where ``FCM_EMULATOR_HOST`` points, if that is this machine.

    When that port is taken, a free one is used and ``FCM_EMULATOR_HOST`` updated, so the
    app's pushes still reach it.
    """
    if not emulator_host:
        return None
    host, _, port_text = emulator_host.rpartition(":")
    if host not in (LOOPBACK, "localhost") or not port_text.isdigit():
        return None
    port = int(port_text)
    emulator = FcmEmulator()
    if _listening(port):
        log.warning("port %d is taken; the FCM emulator gets a free port instead", port)
        port = 0
    await emulator.start(LOOPBACK, port)
    os.environ["FCM_EMULATOR_HOST"] = emulator.host_port
    return emulator
