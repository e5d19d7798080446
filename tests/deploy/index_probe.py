"""Run by each interpreter the package test compares: index an app as the Python worker does.

Its source is run as ``python -E -s -c SOURCE`` in the app folder: the folder is then the first
entry of ``sys.path``, as the Python worker makes it, and nothing else of the environment
(PYTHONPATH, user site) is. It imports ``function_app``, takes its one module-level
``FunctionRegister`` and prints, as JSON, each function's trigger type and the raw bindings the
worker would send the host (routes, methods, auth levels among them). It uses the functions
library only, so both interpreters compute the index the same way.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from typing import Any


def index() -> dict[str, Any]:
    """The functions of the app in the current folder, by name, with triggers and bindings."""
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
    print(json.dumps(index(), sort_keys=True))
