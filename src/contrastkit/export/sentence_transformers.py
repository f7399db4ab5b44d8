"""``sentence-transformers``: a folder ``SentenceTransformer(folder)`` loads offline, giving the
run's sentence embeddings (Transformer, Pooling, and Dense where the run used one)."""

from __future__ import annotations

import importlib
import tempfile
import warnings
from pathlib import Path
from typing import Any

from torch import nn

from contrastkit.export.text import kept_head, save_hugging_face, text_encoder

# contrastkit's poolers as sentence-transformers' pooling modes ("cls" adds BERT's pooler)
POOLING_MODES = {"mean": "mean", "max": "max", "cls": "cls", "cls_before_pooler": "cls"}
MAX_SEQ_LENGTH = 128  # what contrastkit's encode_texts truncates to


def _modules() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return importlib.import_module("sentence_transformers.sentence_transformer.modules")
        except ImportError:  # sentence-transformers < 6
            return importlib.import_module("sentence_transformers.models")


def _dense(modules: Any, linear: Any) -> Any:
    """A sentence-transformers Dense (tanh) holding ``linear``'s weights."""
    weight, bias = linear.weight.detach().clone(), linear.bias.detach().clone()
    return modules.Dense(
        weight.shape[1],
        weight.shape[0],
        activation_function=nn.Tanh(),
        init_weight=weight,
        init_bias=bias,
    )


def write_sentence_transformers(run: Any, folder: Path) -> str:
    """Write the sentence-transformers folder; returns the card's "how to load"."""
    from sentence_transformers import SentenceTransformer

    encoder = text_encoder(run.method)
    if encoder.pooler not in POOLING_MODES:
        raise ValueError(
            f"sentence-transformers has no pooling mode for contrastkit's {encoder.pooler!r} "
            f"pooler; the run can be exported as huggingface or onnx (poolers it maps: "
            f"{', '.join(POOLING_MODES)})"
        )
    modules = _modules()
    with tempfile.TemporaryDirectory() as scratch:
        save_hugging_face(run, Path(scratch))
        transformer = modules.Transformer(scratch, max_seq_length=MAX_SEQ_LENGTH)
        stack = [
            transformer,
            modules.Pooling(encoder.feature_dim, pooling_mode=POOLING_MODES[encoder.pooler]),
        ]
        pooler = getattr(encoder.backbone, "bert_pooler", None)
        if encoder.pooler == "cls" and pooler is not None:
            stack.append(_dense(modules, pooler.dense))
        head: Any = kept_head(run.method)
        if head is not None:
            stack.append(_dense(modules, head[0]))
        SentenceTransformer(modules=stack, device="cpu").save(str(folder))
    return "\n".join(
        [
            "```python",
            "from sentence_transformers import SentenceTransformer",
            "",
            "model = SentenceTransformer('THIS_FOLDER')",
            "embeddings = model.encode(['A man plays a guitar.', 'Two dogs run.'])",
            "```",
        ]
    )
