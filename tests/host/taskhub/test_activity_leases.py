"""A running activity keeps its task leased: one that outlives the lease still runs once."""

import json
import threading
from dataclasses import replace

import pytest

from devhost.app.loader import import_state_kept, load_app
from devhost.engine.runtime import DurableRuntime
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import RuntimeStatus
from tests.support import SAMPLES_DIR

pytestmark = pytest.mark.azurite

LEASE_SECONDS = 2.0
NAP_SECONDS = 5.0  # more than two whole leases


async def test_activity_longer_than_its_lease_runs_once(azurite: AzuriteProcess) -> None:
    """Renewal keeps a 5 s activity hidden under a 2 s lease: it runs exactly once."""
    with import_state_kept():
        index = load_app(SAMPLES_DIR)
    runs = 0
    lock = threading.Lock()
    nap = index.activities["nap"]

    def counted_nap(seconds: float) -> float:
        nonlocal runs
        with lock:
            runs += 1
        return nap.func(seconds)

    activities = {**index.activities, "nap": replace(nap, func=counted_nap)}
    hub = AzureStorageTaskHub(azurite.connection_string, "leases" + str(id(index))[-6:],
                              visibility_timeout=LEASE_SECONDS)
    runtime = DurableRuntime(hub, index.orchestrators, activities)
    await runtime.start()
    try:
        instance = await runtime.client.start_new("sleepy", None, json.dumps(NAP_SECONDS))
        record = await runtime.client.wait_for(instance, timeout=30)
    finally:
        await runtime.stop()
    assert record.runtime_status == RuntimeStatus.COMPLETED
    assert json.loads(record.output or "null") == NAP_SECONDS
    assert runs == 1
