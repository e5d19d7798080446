"""The determinism lint: static checks that an app's orchestrators replay the same way.

``python -m devhost lint [DIR]`` reads the app's source without importing it: it finds the
orchestrator functions ``function_app`` registers (``discovery``), follows the app's own
functions they call (``walker``, resolving names through ``sources`` and ``scope``), checks
every call against the rules of what breaks replay (``rules``), applies the
``# devhost: allow-<rule> <reason>`` comments (``allow``) and prints the findings
(``report``, ``command``).
"""

from devhost.lint.report import Finding, LintReport
from devhost.lint.run import lint_app

__all__ = ["Finding", "LintReport", "lint_app"]
