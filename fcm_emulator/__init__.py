"""A local FCM HTTP v1 emulator (aiohttp) with inspection and fault injection.

Point the push sender at it with ``FCM_EMULATOR_HOST=host:port``. Run it alone with
``python -m fcm_emulator --host 127.0.0.1 --port 9099``.
"""

from fcm_emulator.server import FcmEmulator

__all__ = ["FcmEmulator"]
