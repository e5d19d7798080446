"""``lint_app``: lint one app folder from its source, without importing it."""

from __future__ import annotations

from pathlib import Path

from devhost.lint.allow import apply_allows
from devhost.lint.discovery import find_orchestrators
from devhost.lint.report import LintReport
from devhost.lint.scope import Resolver
from devhost.lint.sources import AppSources, UnreadableApp
from devhost.lint.walker import walk

__all__ = ["lint_app"]


def lint_app(app_dir: Path) -> LintReport:
    """Check the orchestrators of the app in ``app_dir`` and what they call.

    Raises ``UnreadableApp`` (an ``AppLoadError``) when the folder is not a readable v2 app:
    no such folder, no ``function_app.py``, or an app module that does not parse.
    """
    folder = Path(app_dir).resolve()
    if not folder.is_dir():
        raise UnreadableApp(f"{app_dir} is not a folder")
    sources = AppSources(folder)
    orchestrators = find_orchestrators(sources)
    walked = walk(Resolver(sources), orchestrators)
    findings, silenced = apply_allows(walked.findings, walked.checked)
    return LintReport(folder, tuple(findings), tuple(o.qualname for o in orchestrators),
                      tuple(walked.functions), silenced)
