"""How an activity's failure reads on Azure, so an orchestrator that catches it sees the same.

The Python worker reports an exception as ``"{type}: {message}"`` with its formatted
traceback (azure_functions_worker ``Dispatcher._serialize_exception``); the Functions host
wraps that in an ``RpcException`` whose text is ``"Result: Failure\\nException: {message}
\\nStack: {stack}"``; the Durable extension cuts the part between ``"\\nException:"`` and
``"\\nStack:"`` out of it, leading space included (``OutOfProcExceptionHelpers``), and fails
the task with ``"Activity function '{name}' failed: {that part}"`` and the exception
serialized as JSON with its type names (``TaskActivityShim.RunAsync``,
``ErrorSerializerSettingsFactory``). The SDK raises ``Exception(f"{reason} \\n {details}")``
in the orchestrator, so code that reads the JSON's ``Message`` works here as there.
"""

from __future__ import annotations

import json
import traceback

__all__ = ["activity_failure"]

# System.Exception's HResult (COR_E_EXCEPTION), as .NET serializes it.
_EXCEPTION_HRESULT = -2146233088
_RPC_EXCEPTION = "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException"


def _serialized_exception(class_name: str, assembly: str, message: str,
                          inner: dict[str, object] | None,
                          remote_stack: str | None) -> dict[str, object]:
    """A .NET exception as Json.NET writes it with type names (ISerializable fields)."""
    return {
        "$type": f"{class_name}, {assembly}",
        "ClassName": class_name,
        "Message": message,
        "Data": None,
        "InnerException": inner,
        "HelpURL": None,
        "StackTraceString": None,
        "RemoteStackTraceString": remote_stack,
        "RemoteStackIndex": 0,
        "ExceptionMethod": None,
        "HResult": _EXCEPTION_HRESULT,
        "Source": None,
        "WatsonBuckets": None,
    }


def activity_failure(name: str, error: BaseException) -> tuple[str, str]:
    """The TaskFailed ``Reason`` and ``Details`` Azure records when activity ``name`` raised."""
    message = f"{type(error).__name__}: {error}"
    stack = "".join(traceback.format_exception(error))
    rpc_text = f"Result: Failure\nException: {message}\nStack: {stack}"
    friendly = rpc_text[rpc_text.index("\nException:") + len("\nException:"):
                        rpc_text.index("\nStack:")]
    inner = _serialized_exception(_RPC_EXCEPTION, "Microsoft.Azure.WebJobs.Script", rpc_text,
                                  None, stack)
    details = _serialized_exception("System.Exception", "System.Private.CoreLib", friendly,
                                    inner, None)
    return f"Activity function '{name}' failed: {friendly}", json.dumps(details)
