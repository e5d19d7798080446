"""What the test kit exports replays with devhost.history: clean against the same code,
a divergence against code that changed."""

from __future__ import annotations

import textwrap
from pathlib import Path

from devhost.testing import DurableTestHost, replay

APP = '''
import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context", orchestration="Greeter")
def greeter(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("{first}", "one")
    approval = yield context.wait_for_external_event("Go")
    return [first, approval]


@app.activity_trigger(input_name="name", activity="Hello")
def hello(name: str) -> str:
    return f"hello {{name}}"


@app.activity_trigger(input_name="name", activity="Goodbye")
def goodbye(name: str) -> str:
    return f"goodbye {{name}}"
'''


def _write(folder: Path, first: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "function_app.py").write_text(textwrap.dedent(APP.format(first=first)))
    (folder / "host.json").write_text('{"version": "2.0"}')
    return folder


async def test_an_exported_instance_replays_clean_then_flags_a_changed_step(tmp_path):
    """export(iid) is one record of the history format: the same code replays it clean;
    code that calls another activity first is reported at that task."""
    app = _write(tmp_path / "app", "Hello")
    async with DurableTestHost(app) as host:
        instance = await host.start_new("Greeter")
        await host.wait_for(instance, lambda s: s.runtime_status.value == "Running")
        exported = await host.export(instance)
    assert replay(app, exported).ok
    _write(app, "Goodbye")
    report = replay(app, exported)
    assert not report.ok
    (divergence,) = report.divergences
    assert divergence.instance_id == instance
    assert "Hello" in divergence.text() and "Goodbye" in divergence.text()
