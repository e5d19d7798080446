"""Figures, targets, the printed table and the JSON results file."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

AZURITE = "azurite"
MEMORY = "memory"
NO_BACKEND = "none"  # figures that involve no task hub (the SDK alone, the engine alone)


@dataclass(frozen=True)
class Target:
    """A bound a figure should meet: ``value >= bound`` (``at_least``) or ``value <= bound``."""

    bound: float
    at_least: bool = True
    why: str = ""

    def met_by(self, value: float) -> bool:
        """Whether ``value`` meets the bound."""
        return value >= self.bound if self.at_least else value <= self.bound

    def text(self) -> str:
        """``>= 25`` or ``<= 500``, with the reason when it is derived from another figure."""
        sign = ">=" if self.at_least else "<="
        bound = f"{self.bound:.0f}" if self.bound >= 100 else f"{self.bound:.3g}"
        return f"{sign} {bound}" + (f" ({self.why})" if self.why else "")


@dataclass
class Figure:
    """One measured number; ``key`` ties derived targets to it across backends."""

    key: str
    name: str
    backend: str
    value: float
    unit: str
    target: Target | None = None
    # What storage would allow for the same work, in the same unit (Azurite figures only).
    storage_ceiling: float | None = None

    @property
    def meets_target(self) -> bool | None:
        """True or False against the target; None when there is none."""
        return None if self.target is None else self.target.met_by(self.value)

    @property
    def storage_share(self) -> float | None:
        """The figure as a fraction of the storage ceiling."""
        if self.storage_ceiling is None or self.storage_ceiling <= 0:
            return None
        return self.value / self.storage_ceiling

    def rows(self) -> list[dict[str, Any]]:
        """The JSON rows: the figure itself, then its storage ceiling and share if known."""
        main = {"name": self.name, "backend": self.backend, "value": round(self.value, 4),
                "unit": self.unit, "target": self.target.text() if self.target else None,
                "meets_target": self.meets_target}
        rows = [main]
        share = self.storage_share
        if self.storage_ceiling is not None and share is not None:
            rows.append({"name": f"{self.name}: storage ceiling", "backend": self.backend,
                         "value": round(self.storage_ceiling, 4), "unit": self.unit,
                         "target": None, "meets_target": None})
            rows.append({"name": f"{self.name}: share of storage ceiling",
                         "backend": self.backend, "value": round(share, 4), "unit": "fraction",
                         "target": None, "meets_target": None})
        return rows


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "implementation": sys.implementation.name}


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(figures: list[Figure]) -> str:
    """The figures as a fixed-width text table."""
    header = ("figure", "backend", "value", "unit", "target", "met", "of storage")
    lines = [header]
    for figure in figures:
        met = {True: "yes", False: "NO", None: ""}[figure.meets_target]
        share = figure.storage_share
        lines.append((figure.name, figure.backend, _number(figure.value), figure.unit,
                      figure.target.text() if figure.target else "", met,
                      f"{share:.0%} of {_number(figure.storage_ceiling or 0)}"
                      if share is not None else ""))
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    rendered = []
    for number, line in enumerate(lines):
        cells = [cell.rjust(width) if column == 2 else cell.ljust(width)
                 for column, (cell, width) in enumerate(zip(line, widths, strict=True))]
        rendered.append("  ".join(cells).rstrip())
        if number == 0:
            rendered.append("  ".join("-" * width for width in widths))
    return "\n".join(rendered)


def results_document(figures: list[Figure], *, day: date, quick: bool,
                     errors: list[str], seconds: float) -> dict[str, Any]:
    """The JSON document written to ``bench/results/<date>.json``."""
    return {
        "date": day.isoformat(),
        "machine": machine(),
        "quick": quick,
        "seconds": round(seconds, 1),
        "figures": [row for figure in figures for row in figure.rows()],
        "errors": errors,
    }


def write_results(document: dict[str, Any], folder: Path) -> Path:
    """Write the document as ``<folder>/<date>.json`` and return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{document['date']}.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
