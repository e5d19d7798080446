"""The package's public surface: what ``devhost`` exports, and the README's example using it."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import devhost
from devhost import LocalHost, MemoryTaskHub, RuntimeStatus, VirtualClock

TIMER_APP = textwrap.dedent('''
    from datetime import timedelta

    import azure.durable_functions as df

    app = df.DFApp()


    @app.orchestration_trigger(context_name="context")
    def nap(context: df.DurableOrchestrationContext):
        """Sleep a durable half hour, then return the input."""
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=30))
        return context.get_input()
''')


def test_every_exported_name_resolves_to_its_home_module() -> None:
    """Each name in ``devhost.__all__`` is the object of the module it is said to live in."""
    for name in devhost.__all__:
        home = devhost._HOMES[name]
        assert getattr(devhost, name) is getattr(importlib.import_module(home), name)
    assert set(devhost.__all__) == set(devhost._HOMES)


def test_an_unknown_name_raises_attribute_error() -> None:
    """Asking the package for a name it does not export fails like any missing attribute."""
    try:
        devhost.NoSuchThing  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("devhost.NoSuchThing resolved")


def test_importing_the_package_loads_no_engine_or_storage() -> None:
    """``import devhost`` alone loads neither the engine nor the storage SDKs (replay workers
    import one engine module and nothing else)."""
    code = ("import sys, devhost; "
            "print(sorted(m for m in sys.modules if m.startswith(('devhost.', 'azure.'))))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                       text=True, check=True).stdout.replace("'", '"'))
    assert loaded == []


async def test_readme_example_skips_a_durable_half_hour(tmp_path: Path) -> None:
    """A LocalHost over the memory hub on a virtual clock runs a 30-minute timer at once."""
    (tmp_path / "function_app.py").write_text(TIMER_APP)
    clock = VirtualClock()
    async with LocalHost(tmp_path, lambda settings: MemoryTaskHub(clock), port=0) as host:
        assert host.runtime is not None
        client = host.runtime.client
        instance = await client.start_new("nap", "nap-1", json.dumps("rested"))
        await client.wait_for(instance, lambda r: r.runtime_status == RuntimeStatus.RUNNING)
        started = clock.now()
        await host.runtime.advance(minutes=30)
        record = await client.wait_for(instance, timeout=10)
    assert record.runtime_status == RuntimeStatus.COMPLETED
    assert json.loads(record.output or "null") == "rested"
    assert (clock.now() - started).total_seconds() >= 30 * 60
