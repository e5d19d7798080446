"""``python -m devhost``: run an app locally (``run``) or only host it (``serve``).

``run`` is what ``make run`` calls: Azurite on disk, the FCM emulator, and the host, all
stopped by Ctrl-C or SIGTERM. ``serve`` hosts the app on storage you name; the end-to-end
tests start it as a child process so they can kill it mid-flow.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
from pathlib import Path

from devhost.app.requirements import install_requirements
from devhost.app.settings import HostSettings, load_settings
from devhost.clock import SystemClock
from devhost.errors import HostError
from devhost.history import commands as history_commands
from devhost.host import LocalHost, TaskHubFactory
from devhost.lint.command import COMMAND as LINT_COMMAND
from devhost.lint.command import add_lint_command, run_lint
from devhost.local.azurite import AzuriteProcess
from devhost.local.banner import banner
from devhost.local.services import start_azurite, start_fcm_emulator, stop_azurite
from devhost.local.storage_setting import provide_storage_setting
from devhost.taskhub.azure.connection import resolve_connection_string
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import TaskHub
from devhost.taskhub.memory import MemoryTaskHub

log = logging.getLogger("devhost")

STORAGE_SETTING = "AzureWebJobsStorage"
MEMORY = "memory"
# A crashed run's leased work comes back after this long (running activities renew theirs).
DEFAULT_VISIBILITY_SECONDS = 30.0
# Orchestrators replay in one worker process by default, as on Azure (and faster, see
# devhost.engine.replay_processes); 0 keeps them in the host, e.g. to debug them there.
DEFAULT_REPLAY_PROCESSES = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("run", "Azurite + FCM emulator + host (make run)"),
                       ("serve", "only the host, on the storage given")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--app", type=Path, default=Path("."), help="the app folder")
        command.add_argument("--host", default="127.0.0.1", help="address to listen on")
        command.add_argument("--port", type=int, default=7071, help="HTTP port (0: any)")
        command.add_argument("--log-level", default="INFO")
        command.add_argument("--visibility-timeout", type=float,
                             default=DEFAULT_VISIBILITY_SECONDS,
                             help="seconds a leased message stays hidden: how soon a crashed "
                                  "host's work is retried (running activities renew theirs)")
        command.add_argument("--replay-processes", type=_non_negative,
                             default=DEFAULT_REPLAY_PROCESSES,
                             help="worker processes that replay orchestrators (0: replay them "
                                  "in the host process, where a debugger attached to it "
                                  "stops in them)")
    serve = commands.choices["serve"]
    serve.add_argument("--storage", help=f"'{MEMORY}' or a connection string "
                                         f"(default: the app's {STORAGE_SETTING})")
    serve.add_argument("--hub", help="task hub name (default: host.json's hubName)")
    add_lint_command(commands)
    history_commands.add_commands(commands)  # export, replay
    return parser


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _ensure_local_settings(app_dir: Path) -> None:
    """Copy ``local.settings.json.example`` to ``local.settings.json`` when missing."""
    target = app_dir / "local.settings.json"
    example = app_dir / "local.settings.json.example"
    if not target.exists() and example.exists():
        shutil.copyfile(example, target)
        print(f"created {target.name} from {example.name}", flush=True)


def _task_hub_factory(storage: str, hub: str | None, visibility: float) -> TaskHubFactory:
    def make(settings: HostSettings) -> TaskHub:
        if storage == MEMORY:
            return MemoryTaskHub(SystemClock())
        return AzureStorageTaskHub(resolve_connection_string(storage), hub or settings.hub_name,
                                   visibility_timeout=visibility)
    return make


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _prepare_app(app_dir: Path, settings: HostSettings, storage: str | None) -> None:
    """Install the app's requirements and give it the storage setting of the host's
    storage (``storage``: a connection string the host provides, or None)."""
    installed = install_requirements(app_dir)
    if installed is not None:
        print(installed.summary(), flush=True)
    if storage is not None:
        provide_storage_setting(resolve_connection_string(storage), settings.values)


async def _serve(args: argparse.Namespace) -> None:
    app_dir = args.app.resolve()
    settings = load_settings(app_dir)
    storage = args.storage or settings.get(STORAGE_SETTING)
    if not storage:
        raise HostError(f"no storage: pass --storage or set {STORAGE_SETTING}")
    _prepare_app(app_dir, settings, None if storage == MEMORY else storage)
    host = LocalHost(app_dir, _task_hub_factory(storage, args.hub, args.visibility_timeout),
                     host=args.host, port=args.port, replay_processes=args.replay_processes)
    await host.start()
    print(f"serving {app_dir.name} on {host.base_url}", flush=True)
    try:
        await _until_signalled()
    finally:
        await host.stop()


async def _run(args: argparse.Namespace) -> None:
    app_dir = args.app.resolve()
    _ensure_local_settings(app_dir)
    settings = load_settings(app_dir)
    configured = settings.get(STORAGE_SETTING) or "UseDevelopmentStorage=true"
    local_storage = "usedevelopmentstorage=true" in configured.replace(" ", "").lower()
    azurite: AzuriteProcess | None = start_azurite(app_dir) if local_storage else None
    emulator = None
    host: LocalHost | None = None
    try:
        storage = azurite.connection_string if azurite else configured
        _prepare_app(app_dir, settings, storage if azurite else None)
        fcm_host = settings.get("FCM_EMULATOR_HOST")
        emulator = await start_fcm_emulator(fcm_host)
        host = LocalHost(app_dir, _task_hub_factory(storage, None, args.visibility_timeout),
                         host=args.host, port=args.port,
                         replay_processes=args.replay_processes)
        await host.start()
        assert host.index is not None and host.keys is not None
        where = (f"Azurite on ports {azurite.ports}, data in .local/azurite"
                 if azurite else "the configured account")
        print(banner(host.base_url, settings.route_prefix, host.index, host.keys,
                     emulator.base_url if emulator else None, where), flush=True)
        await _until_signalled()
        print("stopping...", flush=True)
    finally:
        if host is not None:
            await host.stop()
        if emulator is not None:
            await emulator.stop()
        if azurite is not None:
            stop_azurite(azurite)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.command == LINT_COMMAND:
        return run_lint(args)
    if args.command in history_commands.COMMANDS:
        return history_commands.run_command(args)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Azure SDK request logging is noise at INFO.
    logging.getLogger("azure").setLevel(logging.WARNING)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        asyncio.run(_serve(args) if args.command == "serve" else _run(args))
    except HostError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return 0
