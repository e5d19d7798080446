"""The host's exceptions; storage and SDK errors are translated into these at the boundary."""


class HostError(Exception):
    """Base of every error the local host raises on purpose."""


class AppLoadError(HostError):
    """The app folder cannot be hosted (no function_app, no FunctionRegister, bad bindings)."""


class InstanceNotFound(HostError):
    """No orchestration instance has that id."""


class InstanceExists(HostError):
    """An instance with that id exists and has not ended, so it cannot be started again."""


class InstanceEnded(HostError):
    """The instance completed, failed or was terminated: it takes no more events."""


class NotRewindable(HostError):
    """Rewind asked of a live instance: only a failed one rewinds; ``str()`` is Azure's
    message (``DurableClient.RewindAsync``'s InvalidOperationException)."""


class InvalidInstanceId(HostError, ValueError):
    """An instance id Azure's durable client refuses; ``str()`` is Azure's message."""


class UnknownOrchestrator(HostError):
    """No orchestrator function of that name is indexed."""


class LockLost(HostError):
    """Another writer changed the instance first (an ETag check failed); retry the work."""


class StorageUnavailable(HostError):
    """The task hub's storage did not answer; the work will be retried."""


class ReplayWorkerLost(HostError):
    """No worker process could replay the episode (stopping, or none would start); the
    work item runs again later."""


class ReplayWorkerDied(ReplayWorkerLost):
    """The worker process died while it replayed the episode; the work item runs again,
    and an instance whose episodes keep ending their worker is failed (engine.workers)."""


class PayloadTooLarge(HostError):
    """A value is bigger than the task hub stores (``devhost.taskhub.limits``). Nothing was
    written and a leased work item is still leased: the workers fail that one instance
    with this error's text as the reason."""
