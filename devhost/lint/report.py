"""What the lint found, and how it is printed: ``path:line:col: rule: message (fix: ...)``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Finding", "LintReport"]


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at one place: ``line`` and ``col`` count from 1, as editors do."""

    path: Path
    line: int
    col: int
    rule: str
    message: str
    fix: str
    # The last line of the expression found: an allow comment anywhere from ``line`` to
    # here silences it.
    end_line: int = field(default=0, compare=False)

    def format(self, relative_to: Path | None = None) -> str:
        """The finding as one line; the path relative to ``relative_to`` when inside it."""
        path = self.path
        if relative_to is not None and path.is_relative_to(relative_to):
            path = path.relative_to(relative_to)
        return f"{path}:{self.line}:{self.col}: {self.rule}: {self.message} (fix: {self.fix})"


@dataclass(frozen=True)
class LintReport:
    """The findings for one app, and what was read to reach them."""

    app_dir: Path
    findings: tuple[Finding, ...]
    # The orchestrators found, as ``module.function``.
    orchestrators: tuple[str, ...]
    # Every function checked: the orchestrators and what they call, as ``module.function``.
    functions: tuple[str, ...]
    silenced: int = 0

    @property
    def ok(self) -> bool:
        """Whether nothing was found."""
        return not self.findings

    @property
    def exit_code(self) -> int:
        """0 when clean, 1 when anything was found."""
        return 0 if self.ok else 1

    def summary(self) -> str:
        """One line: how many problems, in how many orchestrators and functions."""
        if not self.orchestrators:
            return f"no orchestrator functions found in {self.app_dir.name or self.app_dir}"
        reached = len(self.functions) - len(self.orchestrators)
        counted = (f"checked {_plural(len(self.orchestrators), 'orchestrator')} and "
                   f"{_plural(reached, 'function')} they reach")
        silenced = f", {self.silenced} silenced by allow comments" if self.silenced else ""
        if self.ok:
            return f"no determinism problems; {counted}{silenced}"
        return f"{_plural(len(self.findings), 'problem')} found; {counted}{silenced}"

    def format(self, relative_to: Path | None = None) -> str:
        """Every finding, one per line, then the summary."""
        lines = [finding.format(relative_to) for finding in self.findings]
        return "\n".join([*lines, self.summary()])


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
