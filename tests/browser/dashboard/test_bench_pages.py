"""The benchmark of the dashboard's pages runs, tiny, and reports its two figures."""

from __future__ import annotations

import asyncio

import pytest

from bench.backends import Backends
from bench.cli import run_scenarios
from bench.context import Sizes
from bench.figures import MEMORY
from bench.histories import episode_with_history, history_length

pytestmark = pytest.mark.browser


def test_the_pages_scenario_reports_both_figures_with_their_targets() -> None:
    """On a small hub the scenario times the list and the big instance page in Chromium
    and judges them against the issue's bounds (1 s and 2 s)."""
    sizes = Sizes(pages_instances=120, pages_history=60, repeats=1)
    run, errors = asyncio.run(run_scenarios(["pages"], Backends((MEMORY,)), sizes))
    assert errors == []
    figures = {figure.key: figure for figure in run.figures}
    events = history_length(episode_with_history(60))
    assert set(figures) == {"pages_list120", f"pages_history{events}"}
    assert all(figure.value > 0 and figure.unit == "ms" for figure in figures.values())
    bounds = {key: (figure.target.bound if figure.target else None)
              for key, figure in figures.items()}
    assert bounds == {"pages_list120": 1000, f"pages_history{events}": 2000}
