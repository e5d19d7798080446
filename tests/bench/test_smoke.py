"""The benchmarks at a tiny size on the memory hub, so their code cannot rot unnoticed.

These check that every scenario runs and reports, and that targets, the table and the
results file come out right; they measure nothing worth keeping.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path

import pytest
from azure.core.exceptions import AzureError
from azure.core.pipeline.transport import AioHttpTransport
from azure.storage.queue.aio import QueueClient

from bench.backends import Backends
from bench.cli import main, run_scenarios
from bench.context import Run, Sizes, StorageRates
from bench.figures import AZURITE, MEMORY, NO_BACKEND, Figure, results_document, table
from bench.scenarios import SCENARIOS
from bench.storage_calls import QUEUE, CallCounter, counting
from bench.targets import apply_targets
from devhost.taskhub.azure.connection import dev_connection_string

TINY = Sizes(chain=3, fan_out=3, events=3, orders=(2,), burst=2, burst_delay=0.1,
             replay=(20, 40), storage_ops=5, repeats=1, queue_messages=3)
ROW_KEYS = {"name", "backend", "value", "unit", "target", "meets_target"}


@pytest.fixture(scope="module")
def tiny_run() -> tuple[Run, list[str]]:
    """Every scenario once, tiny, on the memory hub only (no Azurite), on a loop of its
    own so the module's tests can share it."""
    return asyncio.run(run_scenarios(list(SCENARIOS), Backends((MEMORY,)), TINY))


def test_every_scenario_runs_and_reports_on_the_memory_hub(tiny_run) -> None:
    """No scenario raises, and each one's figures are there with positive values."""
    run, errors = tiny_run
    assert errors == []
    keys = {(figure.key, figure.backend) for figure in run.figures}
    for expected in [("chain_sdk_ceiling", NO_BACKEND), ("chain", MEMORY), ("fan_out", MEMORY),
                     ("events", MEMORY), ("orders2", MEMORY), ("orders2_p95", MEMORY),
                     ("burst2", MEMORY), ("testkit_order_ms", MEMORY),
                     ("queue3_p50", MEMORY), ("queue3_p95", MEMORY),
                     ("replay20_host", NO_BACKEND), ("replay40_sdk", NO_BACKEND),
                     ("replay_growth_host", NO_BACKEND)]:
        assert expected in keys
    assert all(figure.value > 0 for figure in run.figures)
    assert not any(figure.backend == AZURITE for figure in run.figures)


def test_the_memory_chain_is_judged_against_the_sdk_ceiling(tiny_run) -> None:
    """Without Azurite only the SDK-derived target and the absolute ones (burst, test kit)
    apply; the chain's is two thirds of the ceiling."""
    run, _ = tiny_run
    chain = run.find("chain", MEMORY)
    ceiling = run.find("chain_sdk_ceiling", NO_BACKEND)
    assert chain is not None and ceiling is not None and chain.target is not None
    assert chain.target.bound == pytest.approx(ceiling.value * 2 / 3)
    assert [f.key for f in run.figures if f.target is not None] == [
        "chain", "burst2", "testkit_order_ms"]


def test_table_and_results_file_have_one_row_per_figure(tiny_run, tmp_path) -> None:
    """The table names every figure; the JSON holds the machine and the issue's row keys."""
    run, errors = tiny_run
    rendered = table(run.figures)
    assert all(figure.name in rendered for figure in run.figures)
    document = results_document(run.figures, day=date(2024, 5, 1), quick=True,
                                errors=errors, seconds=1.0)
    assert document["date"] == "2024-05-01"
    assert set(document["machine"]) >= {"cores", "python", "platform"}
    assert len(document["figures"]) == len(run.figures)
    assert all(set(row) == ROW_KEYS for row in document["figures"])
    json.dumps(document)


def test_targets_follow_the_issue() -> None:
    """Absolute bounds on Azurite; memory at 4x Azurite; p95 latency is an upper bound."""
    run = Run(Backends((MEMORY,)))
    run.figures += [Figure("fan_out", "f", AZURITE, 150, "activities/s"),
                    Figure("fan_out", "f", MEMORY, 700, "activities/s"),
                    Figure("orders200_p95", "p", AZURITE, 400, "ms"),
                    Figure("orders200", "o", AZURITE, 9, "orders/s"),
                    Figure("orders200", "o", MEMORY, 40, "orders/s")]
    apply_targets(run)
    bounds = [(f.target.bound, f.target.at_least, f.meets_target) if f.target else None
              for f in run.figures]
    assert bounds == [(200, True, False), (600, True, True), (500, False, True),
                      (10, True, False), (36, True, True)]


def test_storage_ceiling_adds_the_time_each_service_needs() -> None:
    """100 units that made 200 queue and 50 table calls at 400 and 100 calls/s: 1 s."""
    rates = StorageRates(queue_serial=400, queue_parallel=800, table_serial=100,
                         table_parallel=200)
    assert rates.ceiling(100, 200, 50, parallel=False) == pytest.approx(100)
    assert rates.ceiling(100, 200, 50, parallel=True) == pytest.approx(200)
    share = Figure("k", "n", AZURITE, 50, "u", storage_ceiling=200).storage_share
    assert share == pytest.approx(0.25)


async def test_storage_calls_are_counted_while_counting_and_only_then() -> None:
    """A request counts once inside ``counting``, by service and operation; the SDK's
    transport is restored after."""
    original = AioHttpTransport.send
    counter = CallCounter({1: QUEUE})
    client = QueueClient.from_connection_string(dev_connection_string(2, 1, 3), "nothing",
                                                retry_total=0, connection_timeout=0.5)
    try:
        with counting(counter):
            assert AioHttpTransport.send is not original
            with pytest.raises(AzureError):  # nobody listens on port 1
                await client.send_message("x")
        assert AioHttpTransport.send is original
        with pytest.raises(AzureError):
            await client.send_message("x")
    finally:
        await client.close()
    assert counter.calls == {"queue.send": 1}


def test_cli_writes_the_results_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m bench --only replay`` on memory exits 0 and writes <date>.json."""
    monkeypatch.setattr("bench.cli.quiet_logging", lambda: None)  # leave logging alone
    code = main(["--quick", "--only", "replay", "--backend", MEMORY,
                 "--results", str(tmp_path)])
    assert code == 0
    written = list(tmp_path.glob("*.json"))
    assert [path.name for path in written] == [f"{date.today().isoformat()}.json"]
    rows = json.loads(written[0].read_text())["figures"]
    assert rows and all(row["backend"] == NO_BACKEND for row in rows)
