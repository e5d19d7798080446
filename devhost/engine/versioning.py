"""Orchestration versioning as Azure applies it: which instances this host may run.

host.json's ``extensions.durableTask`` gives ``defaultVersion`` (stamped on every new
instance and sub-orchestration that names none), ``versionMatchStrategy`` (``None``,
``Strict``: equal only, ``CurrentOrOlder``: at most the default, the default) and
``versionFailureStrategy`` (``Reject``, the default: leave the work for a worker that may
run it; ``Fail``: fail the orchestration). The checks follow DurableTask.Core's
``TaskOrchestrationDispatcher`` and ``VersioningSettings.CompareVersions``. With no
``defaultVersion`` this host checks nothing (every instance then carries the empty version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

__all__ = ["NO_VERSIONING", "VERSION_MISMATCH", "FailureStrategy", "MatchStrategy",
           "VersionPolicy", "VersionRejected", "compare_versions"]

# DurableTask.Core's FailureDetails("VersionMismatch", ...) message for a Fail.
VERSION_MISMATCH = "Orchestration version did not comply with Worker Versioning"
# System.Version.TryParse: two to four components, each a non-negative 32-bit number.
_DOTNET_VERSION = re.compile(r"\s*([0-9]+)\.([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?\s*")
_INT32_MAX = 2**31 - 1


class MatchStrategy(str, Enum):
    """``versionMatchStrategy``: which instance versions this worker runs."""

    NONE = "None"
    STRICT = "Strict"
    CURRENT_OR_OLDER = "CurrentOrOlder"


class FailureStrategy(str, Enum):
    """``versionFailureStrategy``: what happens to an instance this worker may not run."""

    REJECT = "Reject"
    FAIL = "Fail"


class VersionRejected(Exception):
    """The instance's version is not this worker's to run; its work waits for another."""


def _dotnet_version(text: str) -> tuple[int, ...] | None:
    """``text`` as System.Version compares it (missing parts count as -1), or None."""
    found = _DOTNET_VERSION.fullmatch(text)
    if found is None:
        return None
    parts = tuple(-1 if part is None else int(part) for part in found.groups())
    return None if any(part > _INT32_MAX for part in parts) else parts


def compare_versions(source: str | None, other: str | None) -> int:
    """Negative, zero or positive as ``source`` is older than, equal to or newer than
    ``other``: empty versions are equal and older than any; two System.Version texts
    compare as versions; anything else compares as text, ignoring case."""
    left, right = (source or "").strip(), (other or "").strip()
    if not left and not right:
        return 0
    if not left:
        return -1
    if not right:
        return 1
    left_version, right_version = _dotnet_version(left), _dotnet_version(right)
    if left_version is not None and right_version is not None:
        return (left_version > right_version) - (left_version < right_version)
    left_text, right_text = left.casefold(), right.casefold()
    return (left_text > right_text) - (left_text < right_text)


@dataclass(frozen=True)
class VersionPolicy:
    """The app's versioning settings; the default checks nothing."""

    default_version: str = ""
    match: MatchStrategy = MatchStrategy.CURRENT_OR_OLDER
    failure: FailureStrategy = FailureStrategy.REJECT

    def refuses(self, version: str | None) -> bool:
        """Whether this worker may not run an instance of ``version``."""
        if not self.default_version or self.match == MatchStrategy.NONE:
            return False
        if self.match == MatchStrategy.STRICT:
            return (version or "") != self.default_version
        return compare_versions(version, self.default_version) > 0


# No defaultVersion: every instance runs, new ones get the empty version.
NO_VERSIONING = VersionPolicy()
