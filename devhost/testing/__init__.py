"""The test kit: host any Python v2 durable app in a test, on virtual time.

``DurableTestHost`` runs an app folder on the memory task hub and a virtual clock, without a
network port, Azurite or FCM: the app's real HTTP functions, the SDK's real replay and
client, stand-in activities by name, and waits that skip time to the next due timer.
``pytest_plugin`` offers it as the ``durable_test_host`` fixture. ``replay(app_dir,
exported)`` checks what ``DurableTestHost.export`` (or ``python -m devhost export``) wrote
against the app's current code (``devhost.history``).
"""

from devhost.history import ReplayReport, replay
from devhost.testing.errors import HostNotIdle, UnknownFunction
from devhost.testing.host import DurableTestHost
from devhost.testing.response import Response

__all__ = ["DurableTestHost", "HostNotIdle", "ReplayReport", "Response", "UnknownFunction",
           "replay"]
