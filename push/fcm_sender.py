"""The real sender: one FCM HTTP v1 request per message through pyfcm, no waiting inside."""

import json
import logging

import requests

from models.push import DeliveryOutcome, DeliveryResult
from push.client import SingleShotFCM
from push.credentials import CredentialsError
from push.errors import TransientPushError
from push.limits import collapse_key_problem, data_problem, size_problem
from push.message import PushMessage, notify_arguments
from push.responses import delivery_from_response

logger = logging.getLogger(__name__)

# These mean the endpoint URL itself is wrong (a bad FCM_EMULATOR_HOST): no retry fixes it.
_BAD_URL_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
)


class FcmSender:
    """Sends through one ``SingleShotFCM`` client, shared by every thread that sends.

    pyfcm keeps one HTTP session per thread inside the client, so reusing the client keeps
    connections (and the OAuth token) warm.
    """

    def __init__(self, client: SingleShotFCM, *, timeout_seconds: float) -> None:
        """Send with ``client``; no request waits longer than ``timeout_seconds`` for FCM."""
        self._client = client
        self._timeout = timeout_seconds

    def send(self, message: PushMessage) -> DeliveryResult:
        """Send ``message`` once; see ``PushSender.send`` for what comes back."""
        if not message.token.strip():
            return DeliveryResult(
                outcome=DeliveryOutcome.INVALID_TOKEN, error="registration token is empty"
            )
        problem = data_problem(message.data) or collapse_key_problem(message.collapse_key)
        if problem is not None:
            return self._refused(problem)
        payload: bytes = self._client.parse_payload(**notify_arguments(message))
        problem = size_problem(json.loads(payload)["message"])
        if problem is not None:
            return self._refused(problem)

        try:
            response = self._client.send_request(payload, self._timeout)
        except CredentialsError as err:
            logger.error("FCM credentials are a configuration problem: %s", err)
            return DeliveryResult(outcome=DeliveryOutcome.CONFIG_ERROR, error=str(err))
        except requests.Timeout as err:
            raise TransientPushError(f"FCM did not answer within {self._timeout:g} s") from err
        except _BAD_URL_ERRORS as err:
            logger.error("the FCM endpoint URL is unusable, a configuration problem: %s", err)
            return DeliveryResult(outcome=DeliveryOutcome.CONFIG_ERROR, error=f"bad FCM URL: {err}")
        except requests.RequestException as err:
            raise TransientPushError(f"cannot reach FCM: {type(err).__name__}") from err
        return delivery_from_response(response)

    @staticmethod
    def _refused(problem: str) -> DeliveryResult:
        """A message FCM would refuse whatever the retries: a bug in what we send, logged."""
        logger.error("push message not sent, FCM would refuse it: %s", problem)
        return DeliveryResult(outcome=DeliveryOutcome.FAILED, error=problem)
