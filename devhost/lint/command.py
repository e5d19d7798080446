"""``python -m devhost lint [DIR]``: the subcommand's arguments and its exit codes.

Exit 0 when the app's orchestrators are clean, 1 when anything was found, 2 when the app
cannot be read (no folder, no ``function_app.py``, a module that does not parse).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devhost.lint.run import lint_app
from devhost.lint.sources import UnreadableApp

__all__ = ["COMMAND", "USAGE_ERROR", "add_lint_command", "run_lint"]

COMMAND = "lint"
USAGE_ERROR = 2


def add_lint_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``lint`` to the ``python -m devhost`` subcommands."""
    lint = commands.add_parser(
        COMMAND, help="report what in the orchestrators breaks replay",
        description="Read the app's orchestrator functions and the app functions they call, "
                    "and report what breaks replay: wall-clock reads, randomness, environment "
                    "and file reads, network calls, sleeps, threads and awaiting. "
                    "A '# devhost: allow-<rule> <reason>' comment silences one line. "
                    "Exit 1 when anything is found, 2 when the app cannot be read.")
    lint.add_argument("app", nargs="?", type=Path, default=Path("."), metavar="DIR",
                      help="the app folder (default: the current folder)")


def run_lint(args: argparse.Namespace) -> int:
    """Lint ``args.app``, print the findings and the summary, and return the exit code."""
    try:
        report = lint_app(args.app)
    except UnreadableApp as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    print(report.format(relative_to=Path.cwd()), flush=True)
    return report.exit_code
