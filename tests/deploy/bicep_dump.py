"""Run by the checkov virtualenv's python: print Bicep files as JSON, parsed by pycep.

``python bicep_dump.py FILE...`` prints ``{file name: parsed template}``; pycep is the
parser checkov itself reads Bicep with.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pycep import BicepParser

if __name__ == "__main__":
    parser = BicepParser()
    parsed = {Path(name).name: parser.parse(file_path=Path(name)) for name in sys.argv[1:]}
    print(json.dumps(parsed, default=str))
