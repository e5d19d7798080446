"""Fixtures: the order orchestrator as the worker indexes it, and episodes run through it."""

from collections.abc import Callable

import azure.durable_functions as df
import azure.functions as func
import pytest

from constants import ORDER_ORCHESTRATOR
from tests.support.history import Episode, History, OrderHistory, order_input, replay

Runner = Callable[[History], Episode]


def is_order_orchestrator(function: func.Function) -> bool:
    """True for the orchestrator clients start as ``ORDER_ORCHESTRATOR``.

    The durable extension names an orchestrator by its trigger's ``orchestration`` property
    first, by the function's name only without one; the function's name is the Python name
    unless ``function_name`` sets it, so the two differ here.
    """
    trigger = function.get_trigger()
    if trigger is None or trigger.type != "orchestrationTrigger":
        return False
    return ORDER_ORCHESTRATOR in {function.get_function_name(),
                                  getattr(trigger, "orchestration", None)}


def indexed_functions() -> list[func.Function]:
    """The functions the worker would index: from ``function_app`` when it imports.

    While another part of the app does not import, the order blueprint is registered on a
    DFApp of its own, which builds its functions exactly as ``function_app`` does.
    """
    try:
        import function_app
    except ImportError:
        from orchestrators.order import bp

        app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
        app.register_functions(bp)
        return app.get_functions()
    return function_app.app.get_functions()


@pytest.fixture(scope="session")
def handle() -> Callable[[str], str]:
    """The order orchestrator's ``handle``, the SDK's replay engine around the generator."""
    function = next(f for f in indexed_functions() if is_order_orchestrator(f))
    return function.get_user_function()


@pytest.fixture
def run(handle: Callable[[str], str]) -> Runner:
    """Run a history's next episode through the SDK and record it: ``episode = run(h)``."""
    return lambda history: replay(handle, history)


@pytest.fixture
def at_approval(run: Runner) -> Callable[..., tuple[OrderHistory, Episode]]:
    """Make an order wait for approval: three pushes succeed, two seconds apart.

    Returns the history and the episode that published ``awaiting_approval``; keyword
    arguments override fields of the orchestration's input.
    """

    def make(**overrides: object) -> tuple[OrderHistory, Episode]:
        h = OrderHistory(order_input(**overrides)).start()
        episode = run(h)
        for _ in range(3):
            episode = run(h.advance(seconds=2).push_succeeds())
        return h, episode

    return make
