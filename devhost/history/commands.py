"""``python -m devhost export`` and ``python -m devhost replay``.

``export --app DIR [--storage CONN] [--hub NAME] (--instance ID ... | --running) -o PATH``
writes the histories of a storage account's task hub (default: the app's
``AzureWebJobsStorage`` and ``hubName``) to one export file. ``replay --app DIR FILE...``
replays every history in the files against the app's current code: exit 0 when each one
does what its history holds, 1 with the report of those that do not, 2 for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, Final

from azure.core.exceptions import AzureError

from devhost.app.settings import load_settings
from devhost.errors import HostError
from devhost.history.export import export_storage
from devhost.history.format import InstanceHistory, read_file, write_file
from devhost.history.replay import replay
from devhost.taskhub.azure.common import StorageNames

__all__ = ["COMMANDS", "add_commands", "run_command"]

COMMANDS: Final = ("export", "replay")
STORAGE_SETTING: Final = "AzureWebJobsStorage"
MEMORY: Final = "memory"
EXIT_SAME, EXIT_DIVERGED, EXIT_BAD_INPUT = 0, 1, 2


def add_commands(commands: Any) -> None:
    """Add ``export`` and ``replay`` to the CLI's sub-command parsers."""
    export = commands.add_parser("export", help="write full histories from a task hub")
    export.add_argument("--app", type=Path, default=Path("."), help="the app folder")
    export.add_argument("--storage", help=f"connection string (default: the app's "
                                          f"{STORAGE_SETTING})")
    export.add_argument("--hub", help="task hub name (default: host.json's hubName)")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--instance", action="append", metavar="ID",
                       help="an instance to export (repeatable)")
    which.add_argument("--running", action="store_true",
                       help="every instance neither completed, failed nor terminated")
    export.add_argument("-o", "--output", type=Path, required=True, help="the file to write")
    check = commands.add_parser("replay", help="replay exported histories against the "
                                               "app's current code")
    check.add_argument("--app", type=Path, default=Path("."), help="the app folder")
    check.add_argument("files", type=Path, nargs="+", metavar="FILE", help="export files")


def run_command(args: argparse.Namespace) -> int:
    """Run ``export`` or ``replay``; returns the exit code."""
    try:
        if args.command == "export":
            return _export(args)
        return _replay(args)
    except (HostError, ValueError) as error:  # HistoryFormatError, bad hub names
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:  # the output file cannot be written
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except AzureError as error:  # a refused account key, a connection string gone wrong
        print(f"error: storage refused: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _export(args: argparse.Namespace) -> int:
    settings = load_settings(args.app.resolve())
    storage = args.storage or settings.get(STORAGE_SETTING)
    if not storage:
        raise HostError(f"no storage: pass --storage or set {STORAGE_SETTING}")
    if storage == MEMORY:
        raise HostError("a memory task hub lives only inside its own process: export it "
                        "from Python with devhost.history.export_hub")
    hub = args.hub or settings.hub_name
    StorageNames.for_hub(hub)  # refuses a name no task hub may have
    ids = None if args.running else list(args.instance)
    instances: list[InstanceHistory] = asyncio.run(export_storage(storage, hub, ids))
    write_file(args.output, instances)
    print(f"exported {len(instances)} instance(s) of task hub {hub} to {args.output}")
    return EXIT_SAME


def _replay(args: argparse.Namespace) -> int:
    instances = [item for path in args.files for item in read_file(path)]
    report = replay(args.app, instances) if instances else None
    if report is None:
        print("no instances in the files: nothing replayed")
        return EXIT_SAME
    print(report.text())
    return EXIT_SAME if report.ok else EXIT_DIVERGED
