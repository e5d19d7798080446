"""pyfcm's client with its blocking retry loops taken out.

Left to itself, pyfcm 2.1.1 retries 502/503 through urllib3 with growing sleeps, sleeps
for any ``Retry-After`` and calls itself again without bound, retries an expired token
without bound, and refreshes OAuth tokens with google-auth's 120 s default timeout.
Inside an activity every one of these blocks a worker; the durable retry policy is the
place to wait, so this client sends each request exactly once and returns.

It also reads the environment's proxy and CA bundle settings once, when it is made, not on
every push as a ``requests`` session does by default.
"""

import os
from typing import Any

import google.auth.transport.requests
import requests
from google.auth import exceptions as auth_exceptions
from pyfcm import FCMNotification
from requests.adapters import HTTPAdapter

from push.credentials import CredentialsError
from push.errors import TransientPushError

FCM_ENDPOINT_BASE = "https://fcm.googleapis.com/v1/projects"
"""Where FCM HTTP v1 lives; the project id and ``/messages:send`` follow."""


class _TimedAuthRequest(google.auth.transport.requests.Request):
    """google-auth's request adapter with a ceiling on every token request's timeout."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        super().__init__(session)
        self._ceiling = timeout

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        bounded = self._ceiling if timeout is None else min(timeout, self._ceiling)
        return super().__call__(
            url, method=method, body=body, headers=headers, timeout=bounded, **kwargs
        )


def _access_token_expired(response: Any) -> bool:
    """True for a 401 whose ErrorInfo says the OAuth token expired (a fresh one will do)."""
    if response.status_code != 401:
        return False
    try:
        details = response.json().get("error", {}).get("details", [])
        return any(d.get("reason") == "ACCESS_TOKEN_EXPIRED" for d in details)
    except (ValueError, AttributeError, TypeError):
        return False  # not the JSON shape Google uses: not an expired-token answer


class SingleShotFCM(FCMNotification):
    """An ``FCMNotification`` that makes one HTTP request per send and never sleeps."""

    def __init__(
        self,
        *,
        credentials: Any,
        project_id: str,
        timeout_seconds: float,
        endpoint_base: str = FCM_ENDPOINT_BASE,
    ) -> None:
        """Send as ``project_id`` with ready-made ``credentials`` to ``endpoint_base``.

        ``timeout_seconds`` bounds each token request; the send timeout is the caller's.
        """
        # max_retries=0: no urllib3 retries, so a 502/503 comes straight back to us.
        super().__init__(
            credentials=credentials,
            project_id=project_id,
            adapter=HTTPAdapter(max_retries=0),
        )
        self._endpoint = f"{endpoint_base.rstrip('/')}/{project_id}/messages:send"
        self._token_timeout = timeout_seconds
        self._environment_proxies = requests.utils.get_environ_proxies(self._endpoint)
        self._environment_ca_bundle = (os.environ.get("REQUESTS_CA_BUNDLE")
                                       or os.environ.get("CURL_CA_BUNDLE"))

    @property
    def requests_session(self) -> requests.Session:
        """pyfcm's session for this thread, set up from the environment read at creation.

        The proxy and CA settings are read once, when the client is made (they do not
        change while the app runs), not on every request. ``.netrc`` is never read: an
        entry for the FCM host would replace the bearer token pyfcm sends.
        """
        session: requests.Session = super().requests_session
        if session.trust_env:
            session.trust_env = False
            session.proxies.update(self._environment_proxies)
            if self._environment_ca_bundle:
                session.verify = self._environment_ca_bundle
        return session

    @property
    def fcm_end_point(self) -> str:
        """The send URL for the configured project.

        pyfcm prefers the project named in the credentials; the explicit setting wins here,
        so the URL is the one the settings say.
        """
        return self._endpoint

    def send_request(self, payload: bytes | None = None, timeout: Any = None) -> Any:
        """POST the payload once and return the response, whatever its status.

        pyfcm would sleep for a ``Retry-After`` and recurse; here the header is left for the
        caller. An expired access token is renewed and the request repeated once only.
        """
        response = self.requests_session.post(self.fcm_end_point, data=payload, timeout=timeout)
        if _access_token_expired(response):
            self.thread_local.token_expiry = 0
            response = self.requests_session.post(self.fcm_end_point, data=payload, timeout=timeout)
        return response

    def _get_access_token(self) -> str:
        """Refresh the credentials within the timeout and return the access token.

        pyfcm wraps every refresh failure in ``InvalidDataError``, which reads like a bad
        message; this tells a network hiccup (transient) from bad credentials (configuration).
        """
        try:
            with requests.Session() as session:
                self.credentials.refresh(_TimedAuthRequest(session, self._token_timeout))
        except auth_exceptions.TransportError as err:
            raise TransientPushError(f"cannot reach the OAuth token endpoint: {err}") from err
        except auth_exceptions.RefreshError as err:
            if err.retryable:
                raise TransientPushError(f"OAuth token refresh failed: {err}") from err
            raise CredentialsError(f"OAuth token refresh refused: {err}") from err
        except auth_exceptions.GoogleAuthError as err:
            raise CredentialsError(f"OAuth credentials unusable: {err}") from err
        token = self.credentials.token
        if not isinstance(token, str) or not token:
            raise CredentialsError("OAuth credentials produced no access token")
        return token
