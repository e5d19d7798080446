"""Recorded histories: export them from a task hub, replay them against changed code.

``export_hub`` (any task hub object) and ``export_storage`` (a storage account, in this
host's layout or as Durable Task's Azure Storage provider writes ``{hub}History``) write
the export format of ``format``; ``replay(app_dir, exported)`` runs each history through
the SDK against the app's current code and reports, per instance, the first event where
the code now acts otherwise. ``python -m devhost export`` / ``replay`` are the same.
"""

from __future__ import annotations

from devhost.history.export import NothingToExport, export_hub, export_storage
from devhost.history.format import (
    FORMAT,
    HistoryFormatError,
    InstanceHistory,
    document,
    read_document,
    read_file,
    write_file,
)
from devhost.history.replay import replay
from devhost.history.report import Divergence, ReplayReport

__all__ = [
    "FORMAT",
    "Divergence",
    "HistoryFormatError",
    "InstanceHistory",
    "NothingToExport",
    "ReplayReport",
    "document",
    "export_hub",
    "export_storage",
    "read_document",
    "read_file",
    "replay",
    "write_file",
]
