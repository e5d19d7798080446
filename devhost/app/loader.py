"""Index a Python v2 Functions app the way the Python worker does.

``load_app`` puts the app folder first on ``sys.path``, imports its ``function_app`` module,
takes the one module-level ``azure.functions.FunctionRegister`` (a ``df.DFApp``, or a
``func.FunctionApp`` with ``df.Blueprint`` objects registered) and turns its
``get_functions()`` into a ``FunctionIndex``: HTTP functions with their routes,
orchestrators and activities by name, timer and queue functions (``devhost.triggers``).

Anything this host cannot run is refused up front with an ``AppLoadError`` that names the
function and the binding, rather than failing on the first request.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

import azure.functions as func

from devhost.app.requirements import add_app_packages
from devhost.errors import AppLoadError
from devhost.http.routes import RouteTemplate, RouteTemplateError
from devhost.triggers.functions import (
    QUEUE_OUTPUT,
    QUEUE_TRIGGER,
    TIMER_TRIGGER,
    QueueOutput,
    TriggerFunction,
    index_trigger,
    queue_outputs,
)

__all__ = ["ALL_METHODS", "ActivityFunction", "FunctionIndex", "HttpFunction",
           "OrchestratorFunction", "load_app"]

APP_MODULE = "function_app"
ALL_METHODS: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

HTTP_TRIGGER = "httpTrigger"
ORCHESTRATION_TRIGGER = "orchestrationTrigger"
ACTIVITY_TRIGGER = "activityTrigger"
ENTITY_TRIGGER = "entityTrigger"
DURABLE_CLIENT = "durableClient"
HTTP_OUTPUT = "http"
RETURN_BINDING = "$return"
# The worker binds an orchestrator's trigger to the SDK's ``handle(context)``.
ORCHESTRATOR_CONTEXT_PARAM = "context"

# How many lines of an import error's traceback the refusal quotes.
TRACEBACK_TAIL_LINES = 20

# App folders loaded before, so a module another app left in sys.modules under a name
# this app also provides is imported afresh from this app.
_loaded_app_dirs: set[Path] = set()


@dataclass(frozen=True)
class HttpFunction:
    """An HTTP-triggered function and how to call it."""

    name: str
    route: str
    methods: tuple[str, ...]
    auth_level: str  # "anonymous" | "function" | "admin"
    # Called with keyword arguments: request_param=func.HttpRequest and, when client_param
    # is set, client_param=<durable client binding JSON string>; the SDK's middleware
    # turns that string into a DurableOrchestrationClient.
    func: Callable[..., Any]
    request_param: str
    client_param: str | None
    is_async: bool
    # Queue output bindings, each a func.Out parameter (devhost.triggers).
    outputs: tuple[QueueOutput, ...] = ()


@dataclass(frozen=True)
class OrchestratorFunction:
    """An orchestrator: the SDK's ``handle(context_json) -> state_json``."""

    name: str
    handle: Callable[[str], str]


@dataclass(frozen=True)
class ActivityFunction:
    """An activity: the user's function, called with its decoded input as ``input_param``."""

    name: str
    func: Callable[..., Any]
    input_param: str
    is_async: bool


@dataclass(frozen=True)
class FunctionIndex:
    """Everything the host serves from one app folder."""

    app_dir: Path
    http: tuple[HttpFunction, ...]
    orchestrators: Mapping[str, OrchestratorFunction]
    activities: Mapping[str, ActivityFunction]
    # Timer and queue functions (devhost.triggers).
    triggers: tuple[TriggerFunction, ...] = ()


def _refuse(function: str, problem: str) -> AppLoadError:
    """An ``AppLoadError`` about one function."""
    return AppLoadError(f"function {function!r}: {problem}")


def _inside(path: str | None, folder: Path) -> bool:
    """Whether file ``path`` lies in ``folder``."""
    if not path:
        return False
    try:
        return Path(path).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False


def _module_dirs(module: ModuleType) -> list[str]:
    """Where a module came from: its file, or a namespace package's folders."""
    spec_path = getattr(module, "__path__", None)
    file = getattr(module, "__file__", None)
    return [file] if file else [str(p) for p in spec_path or []]


def _provides(app_dir: Path, top_level: str) -> bool:
    """Whether ``app_dir`` holds a module or package importable as ``top_level``."""
    return (app_dir / f"{top_level}.py").is_file() or (app_dir / top_level).is_dir()


def _forget_other_apps(app_dir: Path) -> None:
    """Make ``import`` find this app's modules, not those another app folder left behind.

    Drops ``function_app`` and every module that came from a previously loaded app folder
    under a name this folder also provides. Nothing else is touched: this folder's modules
    already imported stay (the host's own process may share them), and so do the standard
    library and installed packages.
    """
    sys.modules.pop(APP_MODULE, None)
    others = [folder for folder in _loaded_app_dirs if folder != app_dir]
    if not others:
        return
    for name, module in list(sys.modules.items()):
        if not _provides(app_dir, name.partition(".")[0]):
            continue
        origins = _module_dirs(module)
        if any(_inside(origin, other) and not _inside(origin, app_dir)
               for origin in origins for other in others):
            del sys.modules[name]


def _import_app(app_dir: Path) -> ModuleType:
    """Import ``function_app`` from ``app_dir`` or raise ``AppLoadError`` with the cause."""
    if not (app_dir / f"{APP_MODULE}.py").is_file():
        raise AppLoadError(f"{app_dir} has no {APP_MODULE}.py: not a Python v2 Functions app")
    _forget_other_apps(app_dir)
    folder = str(app_dir)
    # First on sys.path, as the worker puts the script root, so the app's own packages win.
    while folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)
    # The app's own requirements come after the host's site-packages (app.requirements).
    add_app_packages()
    # Folders written after the import system cached their parents' listings (tests do
    # this) are otherwise invisible.
    importlib.invalidate_caches()
    _loaded_app_dirs.add(app_dir)
    try:
        return importlib.import_module(APP_MODULE)
    except ModuleNotFoundError as err:
        raise AppLoadError(_missing_module(app_dir, err)) from err
    except (Exception, SystemExit) as err:
        lines = "".join(traceback.format_exception(err)).rstrip().splitlines()
        tail = "\n".join(lines[-TRACEBACK_TAIL_LINES:])
        raise AppLoadError(
            f"importing {app_dir / (APP_MODULE + '.py')} failed: {err!r}\n{tail}") from err


def _missing_module(app_dir: Path, err: ModuleNotFoundError) -> str:
    """What to do about a module the app imports but nobody installed."""
    missing = (err.name or str(err)).partition(".")[0]
    where = next((f"{frame.filename}:{frame.lineno}"
                  for frame in reversed(traceback.extract_tb(err.__traceback__))
                  if _inside(frame.filename, app_dir)), str(app_dir / f"{APP_MODULE}.py"))
    requirements = app_dir / "requirements.txt"
    listed = requirements.is_file() and missing.lower().replace("_", "-") in (
        requirements.read_text(encoding="utf-8", errors="replace").lower().replace("_", "-"))
    fix = (f"it is listed in {requirements.name}: start the app with `make run APP={app_dir}` "
           "(it installs the app's requirements), or check that the package provides it"
           if listed else
           f"add the package that provides it to {requirements} (`make run` installs the "
           f"app's requirements), or install it: .venv/bin/pip install {missing}")
    return f"importing {APP_MODULE} failed: {where} imports module {missing!r}, which is " \
           f"not installed; {fix}"


def _find_register(module: ModuleType) -> func.FunctionRegister:
    """The single module-level FunctionRegister, as the worker requires."""
    found: dict[int, tuple[str, func.FunctionRegister]] = {}
    for name, value in vars(module).items():
        if isinstance(value, func.FunctionRegister) and id(value) not in found:
            found[id(value)] = (name, value)
    if not found:
        raise AppLoadError(
            f"{APP_MODULE}.py defines no FunctionRegister at module level: create one "
            "with df.DFApp() or func.FunctionApp() (a Blueprint alone is not indexed)")
    if len(found) > 1:
        names = ", ".join(sorted(name for name, _ in found.values()))
        raise AppLoadError(f"{APP_MODULE}.py defines several FunctionRegisters ({names}); "
                           "the worker indexes exactly one")
    return next(iter(found.values()))[1]


def _enum_text(value: Any) -> str:
    """An enum's value or a plain string, lower-cased (decorators accept both)."""
    return str(getattr(value, "value", value)).lower()


def _check_parameters(name: str, user_func: Callable[..., Any], bound: set[str]) -> None:
    """Every binding has a parameter and every required parameter has a binding."""
    try:
        signature = inspect.signature(user_func)
    except (TypeError, ValueError) as err:
        raise _refuse(name, f"cannot read its signature: {err}") from err
    params = signature.parameters
    for binding in sorted(bound - set(params)):
        raise _refuse(name, f"binding {binding!r} has no parameter of that name")
    for param in params.values():
        unbound = param.name not in bound and param.default is inspect.Parameter.empty
        if unbound and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            what = ("a func.Context parameter is not supported by this host"
                    if param.name == "context" else "no binding supplies it")
            raise _refuse(name, f"parameter {param.name!r}: {what}")


def _http_function(name: str, trigger: Any, others: list[Any],
                   user_func: Callable[..., Any]) -> HttpFunction:
    """Index an HTTP function: route, methods, auth level, request and client params."""
    client_param = None
    queue_bindings = []
    for binding in others:
        if binding.type == QUEUE_OUTPUT and binding.name != RETURN_BINDING:
            queue_bindings.append(binding)
        elif binding.type == DURABLE_CLIENT:
            if client_param is not None:
                raise _refuse(name, "has more than one durableClient binding")
            client_param = binding.name
        elif binding.type == HTTP_OUTPUT and binding.name == RETURN_BINDING:
            continue
        elif binding.type == HTTP_OUTPUT:
            raise _refuse(name, f"http output binding {binding.name!r} is not supported; "
                                "return the func.HttpResponse instead ($return)")
        else:
            raise _refuse(name, f"binding {binding.name!r} of type {binding.type!r} is not "
                                "supported on an httpTrigger (supported: durableClient, the "
                                "http $return and queue outputs through func.Out parameters)")
    methods = tuple(dict.fromkeys(_enum_text(m).upper() for m in (trigger.methods or ())))
    for method in methods:
        if method not in ALL_METHODS:
            raise _refuse(name, f"httpTrigger method {method!r} is not an HTTP method")
    auth_level = _enum_text(trigger.auth_level or "function")
    if auth_level not in ("anonymous", "function", "admin"):
        raise _refuse(name, f"httpTrigger auth level {auth_level!r} is unknown")
    route = trigger.route if trigger.route is not None else name
    try:
        RouteTemplate.parse(route)
    except RouteTemplateError as err:
        raise _refuse(name, f"httpTrigger {err}") from err
    outputs = queue_outputs(name, queue_bindings, user_func, lambda _binding: False)
    bound = ({trigger.name} | ({client_param} if client_param else set())
             | {output.param for output in outputs})
    _check_parameters(name, user_func, bound)
    return HttpFunction(
        name=name,
        route=route,
        methods=methods or ALL_METHODS,
        auth_level=auth_level,
        func=user_func,
        request_param=trigger.name,
        client_param=client_param,
        is_async=inspect.iscoroutinefunction(user_func),
        outputs=outputs,
    )


def _no_other_bindings(name: str, trigger_type: str, others: list[Any]) -> None:
    """Orchestrators and activities here take their trigger and nothing else."""
    for binding in others:
        raise _refuse(name, f"binding {binding.name!r} of type {binding.type!r} on an "
                            f"{trigger_type} is not supported (it takes no other bindings)")


def _check_route_conflicts(functions: list[HttpFunction]) -> None:
    """Refuse two functions answering the same route template for the same method."""
    seen: dict[tuple[str, str], str] = {}
    for function in functions:
        canonical = RouteTemplate.parse(function.route).canonical
        for method in function.methods:
            owner = seen.setdefault((canonical, method), function.name)
            if owner != function.name:
                raise _refuse(function.name, f"route {function.route!r} ({method}) is "
                                             f"already served by function {owner!r}")


def _index(app_dir: Path, functions: list[Any]) -> FunctionIndex:
    """Sort the built functions into the index, refusing what cannot be hosted."""
    http: list[HttpFunction] = []
    orchestrators: dict[str, OrchestratorFunction] = {}
    activities: dict[str, ActivityFunction] = {}
    triggers: list[TriggerFunction] = []
    for function in functions:
        name = function.get_function_name()
        trigger = function.get_trigger()
        others = [b for b in function.get_bindings() if b is not trigger]
        user_func = function.get_user_function()
        kind = trigger.type
        if kind == HTTP_TRIGGER:
            http.append(_http_function(name, trigger, others, user_func))
        elif kind == ORCHESTRATION_TRIGGER:
            _no_other_bindings(name, kind, others)
            if trigger.name != ORCHESTRATOR_CONTEXT_PARAM:
                raise _refuse(name, f"orchestrationTrigger parameter must be named "
                                    f"'{ORCHESTRATOR_CONTEXT_PARAM}', not {trigger.name!r} "
                                    "(the worker binds it by that name)")
            orchestration = getattr(trigger, "orchestration", None) or name
            if orchestration in orchestrators:
                raise _refuse(name, f"orchestrator name {orchestration!r} is already used")
            orchestrators[orchestration] = OrchestratorFunction(orchestration, user_func)
        elif kind == ACTIVITY_TRIGGER:
            _no_other_bindings(name, kind, others)
            _check_parameters(name, user_func, {trigger.name})
            activity = getattr(trigger, "activity", None) or name
            if activity in activities:
                raise _refuse(name, f"activity name {activity!r} is already used")
            activities[activity] = ActivityFunction(
                activity, user_func, trigger.name, inspect.iscoroutinefunction(user_func))
        elif kind in (TIMER_TRIGGER, QUEUE_TRIGGER):
            indexed = index_trigger(name, trigger, others, user_func)
            _check_parameters(name, user_func, indexed.bound_params)
            triggers.append(indexed)
        elif kind == ENTITY_TRIGGER:
            raise _refuse(name, "entityTrigger: durable entities are not supported yet")
        else:
            raise _refuse(name, f"trigger type {kind!r} is not supported (supported: "
                                f"{HTTP_TRIGGER}, {ORCHESTRATION_TRIGGER}, {ACTIVITY_TRIGGER}, "
                                f"{TIMER_TRIGGER}, {QUEUE_TRIGGER})")
    _check_route_conflicts(http)
    return FunctionIndex(app_dir, tuple(http), MappingProxyType(orchestrators),
                         MappingProxyType(activities), triggers=tuple(triggers))


def load_app(app_dir: Path) -> FunctionIndex:
    """Import the app in ``app_dir`` and index its functions; ``AppLoadError`` if unhostable."""
    app_dir = Path(app_dir).resolve()
    module = _import_app(app_dir)
    register = _find_register(module)
    try:
        functions = register.get_functions()
    except (ValueError, TypeError) as err:
        # The library validates names and triggers here (duplicates, missing trigger).
        raise AppLoadError(f"indexing {APP_MODULE}.py failed: {err}") from err
    return _index(app_dir, functions)


@contextlib.contextmanager
def import_state_kept() -> Iterator[None]:
    """Undo, on leaving, what loading an app does to ``sys.path`` and ``function_app``.

    A host process keeps both, as the Python worker does. A process that loads several
    apps in turn (tests, benchmarks) wraps each load in this, so whoever imports the next
    ``function_app`` finds what it would have found before (the functions library lets an
    app object be indexed only once).
    """
    path = list(sys.path)
    previous = sys.modules.get(APP_MODULE)
    try:
        yield
    finally:
        sys.path[:] = path
        if previous is None:
            sys.modules.pop(APP_MODULE, None)
        else:
            sys.modules[APP_MODULE] = previous
