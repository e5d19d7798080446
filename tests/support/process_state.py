"""Process-wide state a LocalHost changes, and how tests put it back.

A host exports the app's settings into ``os.environ``, imports ``function_app`` (and puts
the app folder on ``sys.path``), and the durable SDK keeps one aiohttp session per process
bound to the event loop that made it. Tests that host an app in-process use these so no
later test inherits any of it; they live in the test kit, ``devhost.testing.isolation``.
"""

from devhost.testing.isolation import forget_sdk_session, process_state_kept

__all__ = ["forget_sdk_session", "process_state_kept"]
