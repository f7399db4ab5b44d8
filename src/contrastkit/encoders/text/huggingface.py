"""A pretrained Transformer from a local Hugging Face model folder (never the network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor, nn

from contrastkit.encoders.text.cutoff import feature_cutoff as cut_features
from contrastkit.encoders.text.optional import import_text_dependency
from contrastkit.types import check_in_range

_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def check_model_dir(path: str | Path) -> Path:
    """``path`` as a ``Path`` if it is a Hugging Face model folder, else a clear ``ValueError``."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ValueError(
            f"text encoder {str(path)!r}: no such folder; give 'minilm', 'small_transformer' "
            "or the path of a local Hugging Face model folder (config.json, weights, tokenizer)"
        )
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise ValueError(
            f"text encoder {str(path)!r} is not a Hugging Face model folder: it has no "
            "config.json; save a model there with model.save_pretrained(folder) and "
            "tokenizer.save_pretrained(folder)"
        )
    if not any((folder / name).is_file() for name in _WEIGHT_FILES):
        raise ValueError(
            f"text encoder {str(path)!r} has no weights ({', '.join(_WEIGHT_FILES)}); "
            "contrastkit never downloads weights: save them there with model.save_pretrained"
        )
    return folder


class HuggingFaceBackbone(nn.Module):
    """``transformers.AutoModel`` loaded offline, returning every layer's token states.

    Loaded with ``local_files_only=True`` in float32. BERT-like models keep their pooler
    (dense + tanh over [CLS], trained by next-sentence prediction) as ``bert_pooler``.

    Args:
        path: a local model folder (``config.json`` plus weights).
        dropout: overrides the config's hidden and attention dropout (None keeps them; 0.1
            for BERT, SimCSE's noise).
        feature_cutoff: ConSERT feature cutoff rate on the embedding layer's output, applied in
            training mode only.

    Example:
        >>> backbone = HuggingFaceBackbone(minilm_dir())  # doctest: +SKIP
        >>> backbone.hidden_size, backbone.max_positions  # doctest: +SKIP
        (384, 512)
    """

    def __init__(
        self, path: str | Path, *, dropout: float | None = None, feature_cutoff: float = 0.0
    ) -> None:
        super().__init__()
        folder = check_model_dir(path)
        check_in_range("feature_cutoff", feature_cutoff, 0.0, 1.0)
        if dropout is not None:
            check_in_range("dropout", dropout, 0.0, 1.0)
        self.model, missing = _load_model(folder, dropout)
        config: Any = self.model.config
        self.hidden_size = int(config.hidden_size)
        positions = int(getattr(config, "max_position_embeddings", 512))
        # RoBERTa-style position ids start after the padding index
        offset = (
            int(getattr(config, "pad_token_id", 0) or 0) + 1
            if "roberta" in str(getattr(config, "model_type", ""))
            else 0
        )
        self.max_positions = positions - offset
        # a pooler whose weights were not in the checkpoint is random: "cls" then skips it
        self._has_pooler = isinstance(getattr(self.model, "pooler", None), nn.Module) and not any(
            key.startswith("pooler.") for key in missing
        )
        self.feature_cutoff = feature_cutoff
        embeddings = getattr(self.model, "embeddings", None)
        if feature_cutoff > 0:
            if not isinstance(embeddings, nn.Module):
                raise ValueError(
                    f"feature_cutoff needs a model with an 'embeddings' module; "
                    f"{type(self.model).__name__} has none"
                )
            embeddings.feature_cutoff = feature_cutoff  # type: ignore[assignment]
            embeddings.register_forward_hook(_cut_embeddings)

    @property
    def bert_pooler(self) -> nn.Module | None:
        """BERT's trained pooler: (B, L, D) states -> dense + tanh of [CLS], or None if absent."""
        return self.model.pooler if self._has_pooler else None  # type: ignore[return-value]

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> list[Tensor]:
        output = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            output_hidden_states=True,
            return_dict=True,
        )
        return list(output.hidden_states)


def _cut_embeddings(module: nn.Module, inputs: Any, output: Tensor) -> Tensor:
    """Forward hook on the embedding layer (a plain function, so deep copies stay independent)."""
    rate = float(getattr(module, "feature_cutoff", 0.0))
    if module.training and rate > 0:
        return cut_features(output, rate=rate)
    return output


def _load_model(folder: Path, dropout: float | None) -> tuple[nn.Module, list[str]]:
    transformers = import_text_dependency("transformers")
    overrides: dict[str, Any] = {}
    if dropout is not None:
        overrides = {"hidden_dropout_prob": dropout, "attention_probs_dropout_prob": dropout}
    logging = transformers.utils.logging
    bar = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()  # a local load needs no "Loading weights" bar
    try:
        model, info = transformers.AutoModel.from_pretrained(
            str(folder), local_files_only=True, output_loading_info=True, **overrides
        )
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(
            f"could not load the Hugging Face model in {folder}: {error}; the folder must hold "
            "a model saved with save_pretrained (config.json and weights)"
        ) from None
    finally:
        if bar:
            logging.enable_progress_bar()
    return model.float(), list(info.get("missing_keys", []))
