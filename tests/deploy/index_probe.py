"""Run by each interpreter the package test compares: index an app as the Python worker does.

``python -I index_probe.py APP_DIR`` imports ``function_app`` from ``APP_DIR``, takes its one
module-level ``FunctionRegister`` and prints, as JSON, each function's trigger type and the
raw bindings the worker would send the host (routes, methods, auth levels among them).
It uses the functions library only, so both interpreters compute the index the same way.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from typing import Any


def index(app_dir: str) -> dict[str, Any]:
    """The functions of the app in ``app_dir``, by name, with their triggers and bindings."""
    sys.path.insert(0, app_dir)
    import azure.functions as func

    module = importlib.import_module("function_app")
    [register] = {id(value): value for value in vars(module).values()
                  if isinstance(value, func.FunctionRegister)}.values()
    functions = {}
    for function in register.get_functions():
        functions[function.get_function_name()] = {
            "trigger": function.get_trigger().type,
            "bindings": sorted((json.loads(raw) for raw in function.get_raw_bindings()),
                               key=lambda binding: json.dumps(binding, sort_keys=True)),
        }
    return {
        "functions": functions,
        "app_file": module.__file__,
        # The local host must not be what made the import work.
        "devhost_importable": importlib.util.find_spec("devhost") is not None,
    }


if __name__ == "__main__":
    print(json.dumps(index(sys.argv[1]), sort_keys=True))
