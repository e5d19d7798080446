"""The device simulator's page and the state it reads, served by the emulator."""

from __future__ import annotations

import requests

from fcm_emulator import FcmEmulator
from fcm_emulator.simulator import DEFAULT_APP_URL


def test_the_root_page_is_the_simulator_with_the_app_url() -> None:
    """``/`` serves the simulator with the API base it places orders with, which the host
    it runs beside may change after start."""
    with FcmEmulator.running_in_thread() as emulator:
        page = requests.get(f"{emulator.base_url}/?token=device-1", timeout=5)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        assert f'<meta name="app-url" content="{DEFAULT_APP_URL}">' in page.text
        emulator.app_url = "http://127.0.0.1:7999/api"
        page = requests.get(f"{emulator.base_url}/", timeout=5)
        assert '<meta name="app-url" content="http://127.0.0.1:7999/api">' in page.text


def test_the_page_loads_only_its_own_script_and_stylesheet() -> None:
    """The script and stylesheet are served; no other name under /static is."""
    with FcmEmulator.running_in_thread() as emulator:
        script = requests.get(f"{emulator.base_url}/static/simulator.js", timeout=5)
        assert script.status_code == 200 and "text/javascript" in script.headers["Content-Type"]
        assert requests.get(f"{emulator.base_url}/static/simulator.css", timeout=5).ok
        missing = requests.get(f"{emulator.base_url}/static/state.py", timeout=5)
        assert missing.status_code == 404


def test_state_tells_an_unregistered_token_and_queued_faults() -> None:
    """``/emulator/state`` says whether the token was marked unregistered and how many
    faults wait, so the page can show its switches' effect."""
    with FcmEmulator.running_in_thread() as emulator:
        url = f"{emulator.base_url}/emulator/state"
        fresh = requests.get(url, params={"token": "device-2"}, timeout=5).json()
        assert fresh == {"token": "device-2", "unregistered": False, "queuedFaults": 0}
        requests.post(f"{emulator.base_url}/emulator/tokens/device-2:unregister", timeout=5)
        requests.post(f"{emulator.base_url}/emulator/faults", json={"status": 503, "count": 2},
                      timeout=5)
        state = requests.get(url, params={"token": "device-2"}, timeout=5).json()
        assert state == {"token": "device-2", "unregistered": True, "queuedFaults": 2}
        other = requests.get(url, params={"token": "device-3"}, timeout=5).json()
        assert other["unregistered"] is False
