"""Entity triggers as the loader indexes them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from devhost.app.loader import FunctionIndex, import_state_kept, load_app
from tests.host.entities.conftest import COUNTER_APP


@pytest.fixture(scope="module")
def index() -> Iterator[FunctionIndex]:
    """The counter app, indexed as the host indexes it."""
    with import_state_kept():
        yield load_app(COUNTER_APP)


def test_entity_trigger_is_indexed_under_its_entity_name(index: FunctionIndex) -> None:
    """``@app.entity_trigger(entity_name="Counter")`` is the entity ``Counter``, whose handle
    is the SDK's ``Entity.create`` wrapper around the user's function."""
    assert list(index.entities) == ["Counter"]
    handle = index.entities["Counter"].handle
    assert getattr(handle, "entity_function").__name__ == "counter"  # noqa: B009


def test_entity_handle_runs_the_batch_protocol(index: FunctionIndex) -> None:
    """The handle takes the extension's batch JSON and answers state and results."""
    handle = index.entities["Counter"].handle
    answer = handle('{"self": {"name": "counter", "key": "k"}, "exists": true, "state": "2", '
                    '"batch": [{"name": "add", "input": "\\"3\\"", "isSignal": false}]}')
    body = json.loads(answer)
    assert (body["entityExists"], body["entityState"]) == (True, "5")
    assert [(r["isError"], r["result"]) for r in body["results"]] == [(False, "5")]
