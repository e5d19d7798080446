"""Find the app's orchestrators the way the Python worker would index them, from source.

The worker imports ``function_app`` and indexes the functions its ``FunctionApp`` holds,
including those of the blueprints it registers; both come from ``function_app.py`` and the
app modules it imports. So the orchestrators are the functions in those modules decorated
with ``<app or blueprint>.orchestration_trigger(...)``.
"""

from __future__ import annotations

import ast
from collections import deque

from devhost.lint.scope import AppFunction
from devhost.lint.sources import (
    AppSources,
    FunctionNode,
    ModuleSource,
    UnreadableApp,
    decorator_names,
)

__all__ = ["APP_MODULE", "app_modules", "find_orchestrators", "is_orchestrator",
           "is_trigger"]

APP_MODULE = "function_app"
ORCHESTRATION_TRIGGER = "orchestration_trigger"
# Decorators that make a function a Functions trigger (the worker calls it, not the app).
TRIGGER_DECORATORS = frozenset({"route", "schedule", "function_name"})


def is_orchestrator(node: FunctionNode) -> bool:
    """Whether ``node`` is decorated with ``<app or blueprint>.orchestration_trigger``."""
    return ORCHESTRATION_TRIGGER in decorator_names(node)


def is_trigger(node: FunctionNode) -> bool:
    """Whether ``node`` is any Functions trigger (orchestrator, activity, HTTP, entity...)."""
    return any(attr.endswith("_trigger") or attr in TRIGGER_DECORATORS
               for attr in decorator_names(node))


def app_modules(sources: AppSources) -> list[ModuleSource]:
    """``function_app`` and every app module it imports, directly or not, in import order."""
    if not (sources.app_dir / f"{APP_MODULE}.py").is_file():
        raise UnreadableApp(f"{sources.app_dir} has no {APP_MODULE}.py: "
                            "not a Python v2 Functions app")
    start = sources.module(APP_MODULE)
    assert start is not None
    seen = {start.name}
    order = [start]
    pending = deque([start])
    while pending:
        module = pending.popleft()
        for name in module.imported:
            parts = name.split(".")
            # Importing a.b.c runs a and a.b first.
            for cut in range(1, len(parts) + 1):
                dotted = ".".join(parts[:cut])
                found = sources.module(dotted) if dotted not in seen else None
                if found is not None:
                    seen.add(dotted)
                    order.append(found)
                    pending.append(found)
    return order


def find_orchestrators(sources: AppSources) -> list[AppFunction]:
    """The orchestrator functions of the app, in the order their modules are imported."""
    found = []
    for module in app_modules(sources):
        for name, binding in module.bindings.items():
            if isinstance(binding, ast.FunctionDef | ast.AsyncFunctionDef) \
                    and is_orchestrator(binding):
                found.append(AppFunction(module, binding, f"{module.name}.{name}"))
    return found
