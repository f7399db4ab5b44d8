"""What the text export formats share: a text run's encoder, head and source model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn


def text_encoder(method: nn.Module) -> Any:
    """The method's :class:`~contrastkit.encoders.text.TextEncoder` (SimCSE's ``encoder``)."""
    encoder = getattr(method, "encoder", None)
    if encoder is None or not hasattr(encoder, "tokenizer") or not hasattr(encoder, "backbone"):
        raise ValueError(f"{type(method).__name__} has no text encoder to export")
    return encoder


def kept_head(method: nn.Module) -> nn.Module | None:
    """SimCSE's MLP head (Linear + Tanh) when evaluation keeps it, else None."""
    head = getattr(method, "head", None)
    return None if head is None or getattr(method, "mlp_only_train", True) else head


def hugging_face_model(run: Any) -> tuple[Any, Path]:
    """The run's ``transformers`` model and the folder its tokenizer came from.

    A MiniLM or local-folder run's model is its own; the small Transformer is converted to
    ``XLMRobertaXLModel`` (:mod:`contrastkit.export.xlm_roberta_xl`) with MiniLM's tokenizer.

    Raises:
        ValueError: the run's text backbone is neither.
    """
    from contrastkit.encoders.text.huggingface import HuggingFaceBackbone
    from contrastkit.encoders.text.minilm import minilm_dir
    from contrastkit.encoders.text.small import SmallTransformer
    from contrastkit.export.xlm_roberta_xl import to_xlm_roberta_xl

    encoder = text_encoder(run.method)
    backbone = encoder.backbone
    if isinstance(backbone, SmallTransformer):
        return to_xlm_roberta_xl(backbone, encoder.tokenizer.pad_id), minilm_dir()
    if not isinstance(backbone, HuggingFaceBackbone):
        raise ValueError(
            f"cannot export {run.folder} as a Hugging Face model: its text backbone "
            f"{type(backbone).__name__} is neither a Hugging Face model nor the small_transformer"
        )
    name = run.recipe.model.encoder
    return backbone.model, minilm_dir() if name == "minilm" else Path(name).expanduser()


def save_hugging_face(run: Any, folder: Path) -> Any:
    """``save_pretrained`` of the run's model (safetensors) and tokenizer into ``folder``."""
    from contrastkit.encoders.text.optional import import_text_dependency

    model, source = hugging_face_model(run)
    model.save_pretrained(str(folder), safe_serialization=True)
    transformers = import_text_dependency("transformers")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    tokenizer.save_pretrained(str(folder))
    return model
