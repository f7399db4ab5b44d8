"""The optional ``text`` extra (transformers, tokenizers, the offline MiniLM): lazy imports."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

TEXT_EXTRA_FIX = "install the text extra: pip install 'contrastkit[text]' -c constraints.txt"


def import_text_dependency(module: str) -> ModuleType:
    """Import ``module`` (``"tokenizers"``, ``"transformers"``), else a ``ValueError`` saying how.

    Hugging Face libraries are told to stay offline (``HF_HUB_OFFLINE=1``,
    ``TRANSFORMERS_OFFLINE=1`` unless already set) before the first import: contrastkit never
    downloads weights.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ValueError(
            f"text encoders need the {module!r} package, which is not installed ({error}); "
            f"{TEXT_EXTRA_FIX}"
        ) from None
