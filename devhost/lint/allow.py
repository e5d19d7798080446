"""Allow comments: ``# devhost: allow-<rule> <reason>`` silences that rule on its line.

The comment goes on a line of the expression found (for one spread over several lines, any
of them); the reason runs to the end of the line or to the next ``#``. Several rules may
share one comment (``allow-wall-clock allow-randomness``). A comment without a reason,
naming an unknown rule, or silencing nothing is itself a finding and silences nothing:
every exception to the rules says why it is safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from devhost.lint.report import Finding
from devhost.lint.rules import ALLOW_COMMENT, RULE_NAMES
from devhost.lint.walker import CheckedCode

__all__ = ["AllowComment", "apply_allows", "parse_allow"]

MARKER = re.compile(r"devhost:\s*(?P<body>.*)$")
ALLOW_PREFIX = "allow-"
# Punctuation a reason may start with: "allow-sleep -- why", "allow-sleep: why".
REASON_LEAD = "-:;,. \t"


@dataclass(frozen=True)
class AllowComment:
    """One parsed ``# devhost:`` comment: the rules it names and its reason."""

    rules: tuple[str, ...]
    reason: str

    def problem(self) -> str | None:
        """Why this comment cannot silence anything, or None when it is well formed."""
        if not self.rules:
            return f"names no {ALLOW_PREFIX}<rule>"
        unknown = [rule for rule in self.rules if rule not in RULE_NAMES]
        if unknown:
            return (f"names unknown rule {ALLOW_PREFIX}{unknown[0]} "
                    f"(rules: {', '.join(sorted(RULE_NAMES))})")
        if not self.reason:
            return "gives no reason: say why this line is safe to replay"
        return None


def parse_allow(comment: str) -> AllowComment | None:
    """Read a comment's text; None when it is not a ``devhost:`` comment."""
    match = MARKER.search(comment)
    if match is None:
        return None
    # Another tool's comment may follow on the same line, after its own ``#``.
    words = match.group("body").split("#")[0].split()
    rules: list[str] = []
    while words and words[0].startswith(ALLOW_PREFIX):
        for part in words.pop(0).split(","):
            if part.startswith(ALLOW_PREFIX):
                rules.append(part[len(ALLOW_PREFIX):].rstrip(REASON_LEAD))
    return AllowComment(tuple(rules), " ".join(words).lstrip(REASON_LEAD).strip())


def apply_allows(findings: list[Finding], checked: list[CheckedCode]
                 ) -> tuple[list[Finding], int]:
    """The findings left once allow comments in checked code are applied, and how many
    were silenced; problems with the comments themselves are added as findings."""
    comments: dict[tuple[str, int], tuple[CheckedCode, int, AllowComment]] = {}
    for code in checked:
        for line, (col, text) in code.module.comments.items():
            parsed = parse_allow(text)
            if parsed is not None and code.first_line <= line <= code.last_line:
                comments[(str(code.module.path), line)] = (code, col, parsed)
    kept: list[Finding] = []
    used: set[tuple[str, int]] = set()
    silenced = 0
    for finding in findings:
        allowing = [key for line in range(finding.line, max(finding.end_line, finding.line) + 1)
                    if (key := (str(finding.path), line)) in comments
                    and comments[key][2].problem() is None
                    and finding.rule in comments[key][2].rules]
        if allowing:
            used.update(allowing)
            silenced += 1
        else:
            kept.append(finding)
    for key, (code, col, parsed) in comments.items():
        problem = parsed.problem()
        if problem is None and key not in used:
            named = " ".join(ALLOW_PREFIX + rule for rule in parsed.rules)
            problem = f"silences nothing: no {named} finding on this line"
        if problem is not None:
            kept.append(Finding(code.module.path, key[1], col + 1, ALLOW_COMMENT.name,
                                f"`# devhost:` comment {problem}", ALLOW_COMMENT.fix))
    return sorted(kept), silenced
