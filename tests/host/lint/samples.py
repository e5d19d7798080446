"""Sample apps for the lint, and what they expect.

A sample marks each line the lint must report with ``# expect: <rule>[, <rule>...]`` (one
entry per finding on that line; ``<rule>*3`` for three), so the expectations sit next to
the code they are about.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from devhost.lint import LintReport

EXPECT = re.compile(r"#\s*expect:\s*(?P<rules>[\w\s,*-]+)$")

# The head of a blueprint module: the durable SDK and a Blueprint to register on.
BLUEPRINT_HEAD = """\
import azure.durable_functions as df

bp = df.Blueprint()
"""


def blueprint(body: str) -> str:
    """A blueprint module: ``BLUEPRINT_HEAD``, then ``body`` dedented."""
    return BLUEPRINT_HEAD + textwrap.dedent(body)


def function_app(*modules: str) -> str:
    """``function_app.py`` registering ``bp`` of each of ``modules`` on one DFApp."""
    imports = "".join(f"from {module} import bp as bp_{i}\n" for i, module in enumerate(modules))
    registers = "".join(f"app.register_functions(bp_{i})\n" for i in range(len(modules)))
    return f"import azure.durable_functions as df\n{imports}\napp = df.DFApp()\n{registers}"


def write_files(folder: Path, files: dict[str, str]) -> Path:
    """Write ``{"pkg/mod.py": source}`` under ``folder`` (sources dedented); returns it."""
    for relative, source in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return folder


Place = tuple[str, int, str]


def expected(folder: Path) -> list[Place]:
    """Every ``# expect:`` mark in the app's Python files, as (file, line, rule)."""
    marks: list[Place] = []
    for path in sorted(folder.rglob("*.py")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            match = EXPECT.search(line)
            if match:
                for entry in match.group("rules").split(","):
                    rule, _, times = entry.strip().partition("*")
                    where = path.relative_to(folder).as_posix()
                    marks += [(where, number, rule)] * int(times or 1)
    return sorted(marks)


def found(report: LintReport) -> list[Place]:
    """The report's findings as (file, line, rule)."""
    return sorted((f.path.relative_to(report.app_dir).as_posix(), f.line, f.rule)
                  for f in report.findings)
