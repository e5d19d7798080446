"""``python -m devhost lint [DIR]``: one line per finding, a summary, and its exit codes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devhost.cli import main
from tests.host.lint.conftest import AppFiles
from tests.host.lint.samples import blueprint, function_app

REPO = Path(__file__).resolve().parents[3]
FINDING_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<rule>[a-z-]+): "
                          r"(?P<message>.+) \(fix: (?P<fix>.+)\)$")

PROBLEMS = blueprint('''
    import time
    import uuid


    @bp.orchestration_trigger(context_name="context")
    def flow(context):
        yield context.call_activity("Work", [time.time(), str(uuid.uuid4())])
''')
# The line of PROBLEMS that reads the clock and draws an id.
PROBLEM_LINE = next(number for number, line in enumerate(PROBLEMS.splitlines(), start=1)
                    if "time.time()" in line)
CLEAN = blueprint('''
    @bp.orchestration_trigger(context_name="context")
    def flow(context):
        yield context.call_activity("Work", context.current_utc_datetime.isoformat())
''')


def _app(app_files: AppFiles, source: str) -> Path:
    return app_files({"function_app.py": function_app("flows"), "flows.py": source})


def test_findings_print_one_per_line_with_a_summary_and_exit_1(
        app_files: AppFiles, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``path:line:col: rule: message (fix: ...)`` per finding, paths relative to the
    current folder, then the summary; exit code 1."""
    folder = _app(app_files, PROBLEMS)
    monkeypatch.chdir(folder.parent)
    assert main(["lint", folder.name]) == 1
    *lines, summary = capsys.readouterr().out.strip().splitlines()
    parsed = [FINDING_LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["path"], m["line"], m["rule"]) for m in parsed if m] == [
        ("app/flows.py", str(PROBLEM_LINE), "wall-clock"),
        ("app/flows.py", str(PROBLEM_LINE), "randomness")]
    assert summary == "2 problems found; checked 1 orchestrator and 0 functions they reach"


def test_a_clean_app_prints_the_summary_and_exits_0(
        app_files: AppFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """No finding: only the summary, exit code 0."""
    assert main(["lint", str(_app(app_files, CLEAN))]) == 0
    assert capsys.readouterr().out.strip() == (
        "no determinism problems; checked 1 orchestrator and 0 functions they reach")


def test_the_app_is_read_not_imported(app_files: AppFiles) -> None:
    """An app whose import would fail (or exit) is still linted: nothing of it runs."""
    folder = _app(app_files, "raise SystemExit('never imported')\n" + PROBLEMS)
    assert main(["lint", str(folder)]) == 1


@pytest.mark.parametrize(("files", "message"), [
    (None, "is not a folder"),
    ({"flows.py": CLEAN}, "has no function_app.py: not a Python v2 Functions app"),
    ({"function_app.py": function_app("flows"), "flows.py": "def broken(:\n"},
     "cannot parse "),
])
def test_an_unreadable_app_is_a_usage_error(
        app_files: AppFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        files: dict[str, str] | None, message: str) -> None:
    """No folder, no function_app.py, or an app module that does not parse: exit code 2
    and a message on stderr saying which, nothing on stdout."""
    folder = app_files(files) if files is not None else tmp_path / "missing"
    assert main(["lint", str(folder)]) == 2
    output = capsys.readouterr()
    assert output.out == ""
    assert output.err.startswith("error: ")
    assert message in output.err
    if files and "flows.py" in files and "function_app.py" in files:
        assert "flows.py:1" in output.err


def test_python_m_devhost_lint_defaults_to_the_current_folder(app_files: AppFiles) -> None:
    """Run as a command in the app's folder with no DIR: the current folder is linted."""
    folder = _app(app_files, PROBLEMS)
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "devhost", "lint"], cwd=folder,
                          env=environment, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[0].startswith(f"flows.py:{PROBLEM_LINE}:")
