"""``huggingface``: a text run's Transformer and tokenizer, saved with ``save_pretrained``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contrastkit.export.text import kept_head, save_hugging_face, text_encoder


def write_huggingface(run: Any, folder: Path) -> str:
    """``config.json``, ``model.safetensors`` and the tokenizer files in ``folder``; returns
    the card's "how to load"."""
    save_hugging_face(run, folder)
    pooler = text_encoder(run.method).pooler
    head = kept_head(run.method)
    note = (
        " The run's SimCSE head (Linear + tanh) is not part of this format; the "
        "`sentence-transformers` export includes it."
        if head is not None
        else ""
    )
    return "\n".join(
        [
            "```python",
            "from transformers import AutoModel, AutoTokenizer",
            "",
            "model = AutoModel.from_pretrained('THIS_FOLDER')",
            "tokenizer = AutoTokenizer.from_pretrained('THIS_FOLDER')",
            "```",
            "",
            f"contrastkit pooled the token states with `{pooler}` (see "
            f"`contrastkit.encoders.text.pooling`).{note}",
        ]
    )
