"""The push client's use of the environment: proxies honoured, read once; ~/.netrc never read."""

from pathlib import Path

import pytest

from fcm_emulator import FcmEmulator
from models.push import DeliveryOutcome
from push import PushMessage, sender_from_settings

# A host name that never resolves (RFC 2606): only a proxy can deliver to it.
UNRESOLVABLE_FCM = "fcm-behind-a-proxy.invalid:80"
PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                   "all_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture
def clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variables from the machine running the tests."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_proxy_from_the_environment_carries_the_pushes(
    clean_proxy_environment: pytest.MonkeyPatch, fcm: FcmEmulator,
    fcm_message: PushMessage,
) -> None:
    """HTTP_PROXY set when the client is made is used; changing it later changes nothing."""
    clean_proxy_environment.setenv("HTTP_PROXY", f"http://{fcm.host_port}")
    sender = sender_from_settings({"FCM_EMULATOR_HOST": UNRESOLVABLE_FCM})
    assert sender.send(fcm_message).outcome == DeliveryOutcome.SENT
    # Read once: a proxy variable set afterwards (here, to nowhere) is not looked up again.
    clean_proxy_environment.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert sender.send(fcm_message).outcome == DeliveryOutcome.SENT
    assert len(fcm.messages(token=fcm_message.token)) == 2


def test_a_netrc_entry_for_the_fcm_host_does_not_replace_the_bearer_token(
    clean_proxy_environment: pytest.MonkeyPatch, fcm: FcmEmulator,
    fcm_message: PushMessage, tmp_path: Path,
) -> None:
    """requests would send the .netrc login as Basic auth instead of pyfcm's bearer token."""
    host = fcm.host_port.rsplit(":", 1)[0]
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {host} login someone password something\n")
    netrc.chmod(0o600)
    clean_proxy_environment.setenv("NETRC", str(netrc))
    sender = sender_from_settings({"FCM_EMULATOR_HOST": fcm.host_port,
                                   "FCM_PROJECT_ID": "netrc-check"})
    assert sender.send(fcm_message).outcome == DeliveryOutcome.SENT
    [request] = fcm.requests()
    assert request["bearer"], request
