"""What the learner typed, made safe before a person opens it.

* :func:`spreadsheet_safe`: a CSV cell that a spreadsheet would read as a formula (it starts
  with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, after any spaces, full-width and
  small forms such as ``＝`` included) gets a leading ``'``, as OWASP's "CSV injection" page
  recommends. Numbers (and text that is a plain number, like ``-1.5``) stay as they are.
* :func:`without_outputs`: a submitted notebook with no output the learner could have typed
  into the file. The grader runs the code itself; what the file claims the code printed is
  never stored, graded or rendered (a ``<script>`` in a saved output would otherwise reach the
  feedback HTML). Raw cells lose their output format too, so none is pasted into HTML as is.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

FORMULA_STARTS = frozenset("=+-@\t\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
RAW_FORMAT_KEYS = ("format", "raw_mimetype")  # nbformat 4's key, and the one JupyterLab writes


def spreadsheet_safe(value: Any) -> Any:
    """``value`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    if not isinstance(value, str) or not value or PLAIN_NUMBER.fullmatch(value.strip()):
        return value
    stripped = value.lstrip(" \n\u00a0\u3000")
    first = {value[0], stripped[:1], unicodedata.normalize("NFKC", stripped[:1])[:1]}
    return "'" + value if first & FORMULA_STARTS else value


def without_outputs(data: bytes) -> bytes:
    """The submitted file (``.ipynb`` bytes) with every code cell's outputs and execution count
    dropped, and raw cells' output formats; bytes that are not a notebook come back unchanged
    (the grader reports them as unreadable), and so does a notebook that has nothing to drop."""
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return data
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return data
    changed = False
    for cell in notebook["cells"]:
        if not isinstance(cell, dict):
            continue
        if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            cell["outputs"], cell["execution_count"] = [], None
            changed = True
        elif cell.get("cell_type") != "code" and "outputs" in cell:  # not even allowed there
            del cell["outputs"]
            changed = True
        metadata = cell.get("metadata")
        if (
            cell.get("cell_type") == "raw"
            and isinstance(metadata, dict)
            and any(k in metadata for k in RAW_FORMAT_KEYS)
        ):
            cell["metadata"] = {k: v for k, v in metadata.items() if k not in RAW_FORMAT_KEYS}
            changed = True
    return json.dumps(notebook, ensure_ascii=False, indent=1).encode("utf-8") if changed else data
