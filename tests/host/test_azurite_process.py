"""AzuriteProcess: start on free ports, serve the SDKs, stop cleanly, restart with its data."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from azure.data.tables.aio import TableClient
from azure.storage.queue.aio import QueueClient

import devhost
from devhost.local.azurite import AzuriteError, AzuriteProcess, free_port
from devhost.taskhub.azure.connection import dev_connection_string, resolve_connection_string

_FAIL_FAST = {"retry_total": 0, "connection_timeout": 2, "read_timeout": 5}


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes; /proc tells them apart.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


async def _write_entity(connection_string: str, value: str) -> None:
    async with TableClient.from_connection_string(connection_string, "probe",
                                                  **_FAIL_FAST) as table:
        await table.create_table()
        await table.upsert_entity({"PartitionKey": "p", "RowKey": "r", "Value": value})


async def _read_entity(connection_string: str) -> str:
    async with TableClient.from_connection_string(connection_string, "probe",
                                                  **_FAIL_FAST) as table:
        return str((await table.get_entity("p", "r"))["Value"])


def test_shorthand_becomes_explicit_default_port_string() -> None:
    """UseDevelopmentStorage=true expands to the three default endpoints, no trailing ';'."""
    resolved = resolve_connection_string("UseDevelopmentStorage=true")
    assert resolved == dev_connection_string(10000, 10001, 10002)
    assert "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1" in resolved
    assert not resolved.endswith(";")
    assert resolve_connection_string(" usedevelopmentstorage=TRUE; ") == resolved


def test_other_connection_strings_pass_through() -> None:
    """A real account's connection string is returned unchanged."""
    real = "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k;EndpointSuffix=x.net"
    assert resolve_connection_string(real) == real


def test_failed_start_reports_stderr_tail(tmp_path: Path) -> None:
    """An Azurite that exits at once raises AzuriteError quoting what it wrote to stderr."""
    fake = tmp_path / "azurite"
    fake.write_text("#!/bin/sh\necho 'listen EADDRINUSE: address already in use' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    process = AzuriteProcess(executable=fake, startup_timeout=5)
    with pytest.raises(AzuriteError, match="EADDRINUSE"):
        process.start()
    assert not process.running


@pytest.mark.azurite
async def test_starts_on_given_ports_and_serves_tables_and_queues() -> None:
    """The connection string reaches tables and queues on exactly the ports asked for."""
    ports = (free_port(), free_port(), free_port())
    with AzuriteProcess(blob_port=ports[0], queue_port=ports[1],
                        table_port=ports[2]) as azurite:
        assert azurite.ports == ports
        assert f"QueueEndpoint=http://127.0.0.1:{ports[1]}/devstoreaccount1" in (
            azurite.connection_string)
        await _write_entity(azurite.connection_string, "hello")
        assert await _read_entity(azurite.connection_string) == "hello"
        async with QueueClient.from_connection_string(azurite.connection_string, "probe",
                                                      **_FAIL_FAST) as queue:
            await queue.create_queue()
            await queue.send_message("ping")
            received = [m async for m in queue.receive_messages(max_messages=1)]
            assert [m.content for m in received] == ["ping"]


@pytest.mark.azurite
def test_stop_leaves_no_process_and_frees_the_ports() -> None:
    """stop() ends Azurite gracefully: no process left, nothing listening on its ports."""
    azurite = AzuriteProcess().start()
    pid = azurite.pid
    assert pid is not None and _alive(pid)
    assert all(_listening(port) for port in azurite.ports)
    began = time.monotonic()
    azurite.stop()
    assert time.monotonic() - began < azurite.stop_timeout  # SIGTERM sufficed, no SIGKILL
    assert not azurite.running
    assert not _alive(pid)
    assert not any(_listening(port) for port in azurite.ports)
    azurite.stop()  # stopping twice is harmless


@pytest.mark.azurite
async def test_restart_on_same_ports_keeps_on_disk_data(tmp_path: Path) -> None:
    """Stopped and started again, an on-disk Azurite is back on its ports with its data."""
    azurite = AzuriteProcess(tmp_path / "data")
    try:
        azurite.start()
        ports = azurite.ports
        await _write_entity(azurite.connection_string, "kept")
        azurite.stop()
        azurite.start()
        assert azurite.ports == ports
        assert await _read_entity(azurite.connection_string) == "kept"
    finally:
        azurite.stop()


@pytest.mark.azurite
def test_azurite_ends_when_its_python_process_is_killed(tmp_path: Path) -> None:
    """A host killed with SIGKILL (no cleanup runs) does not leave Azurite on its ports."""
    script = tmp_path / "host.py"
    script.write_text(
        "import time\n"
        "from devhost.local.azurite import AzuriteProcess\n"
        "azurite = AzuriteProcess().start()\n"
        "print(azurite.pid, azurite.table_port, flush=True)\n"
        "time.sleep(120)\n")
    root = str(Path(devhost.__file__).resolve().parent.parent)
    host = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": root})
    try:
        assert host.stdout is not None
        pid, port = (int(word) for word in host.stdout.readline().split())
        assert _alive(pid) and _listening(port)
    finally:
        host.kill()
        host.wait()
        if host.stdout is not None:
            host.stdout.close()
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
    assert not _listening(port)
