"""The benchmark app's function and event names, shared with the benchmarks.

The app imports this module from its own folder; the benchmarks import it as
``bench.apps.noop.noop_names``. Its name is unlike any of the order app's modules, so the
two apps can be loaded in one process.
"""

NOOP = "Noop"
CHAIN = "Chain"
FAN_OUT = "FanOut"
EVENT_WAITER = "EventWaiter"


def event_name(number: int) -> str:
    """The name of the ``number``-th event the waiter waits for (each name once)."""
    return f"step-{number}"
