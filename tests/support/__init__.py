"""What the tests share: builders, hosts in and out of process, and the fixtures of both.

The fixture modules (``azurite``, ``fcm``, ``host_process``, ``local_host``, ``trials``)
are registered once, by ``pytest_plugins`` in ``tests/conftest.py``.
"""

from pathlib import Path

# The repository's root, which is also the order app's folder (it holds function_app.py).
APP_DIR = Path(__file__).resolve().parents[2]
# The engine's sample app (orchestrators and activities written for the engine tests).
SAMPLES_DIR = APP_DIR / "tests" / "host" / "engine" / "apps" / "samples"
