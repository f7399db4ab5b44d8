"""``onnx``: an image or text run's encoder as ``model.onnx`` with dynamic batch (and sequence)
axes, checked against torch with onnxruntime when written.

Image runs: input ``images`` (B, C, S, S), normalized as ``preprocessing.json`` says; output
``features`` (B, F), ``method.encode``. Text runs: inputs ``input_ids`` and ``attention_mask``
(B, L) int64 from ``tokenizer.json``; output ``features`` (B, F), what ``encode_texts`` gives
(pooling and a kept SimCSE head included).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from contrastkit.encoders.text.encoder import TextEncoder
from contrastkit.encoders.text.small import SmallTransformer
from contrastkit.export.text import kept_head, text_encoder
from contrastkit.export.traceable import TraceableSmallTransformer
from contrastkit.types import Tokens

ONNX_NAME = "model.onnx"
CONFIG_NAME = "onnx.json"
TOLERANCE = 1e-4  # largest |onnxruntime - torch| accepted when writing


class TextGraph(nn.Module):
    """Token ids and attention mask to sentence features: encoder, pooler, kept head."""

    def __init__(self, encoder: nn.Module, head: nn.Module | None) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        h = self.encoder(Tokens(input_ids, attention_mask))
        return h if self.head is None else self.head(h)


def text_graph(encoder: Any, head: nn.Module | None = None) -> TextGraph:
    """A text encoder (and head) as the traceable module :func:`export_module` takes: the small
    Transformer's attention is rewritten with plain ops over the same parameters (the encoder
    passed in is left as it is)."""
    if isinstance(encoder.backbone, SmallTransformer):
        traceable = TraceableSmallTransformer(encoder.backbone)
        encoder = TextEncoder(traceable, encoder.tokenizer, pooler=encoder.pooler)
    return TextGraph(encoder, head).eval()


def _graph(run: Any) -> tuple[nn.Module, tuple[Tensor, ...], dict[str, Any]]:
    """The module to export, example inputs, and the export's description."""
    method = run.method.cpu().eval()
    if run.modality.name == "image":
        from contrastkit.export.backbone import image_encoder, preprocessing
        from contrastkit.modalities.image.modality import build_views

        channels, size = int(run.spec["in_channels"]), run.recipe.data.image_size
        views = build_views(run.recipe.data, channels)
        config: dict[str, Any] = {
            "inputs": {"images": ["batch", channels, size, size]},
            "preprocessing": preprocessing(views, channels, size),
        }
        return image_encoder(method), (torch.randn(2, channels, size, size),), config
    encoder = text_encoder(method)
    tokens = encoder.tokenize(["a first example sentence here", "a second one"], max_length=16)
    config = {
        "inputs": {"input_ids": ["batch", "sequence"], "attention_mask": ["batch", "sequence"]},
        "tokenizer": "tokenizer.json",
        "max_length": min(128, encoder.max_positions),
        "pooler": encoder.pooler,
    }
    graph = text_graph(encoder, kept_head(method))
    return graph, (tokens.input_ids, tokens.attention_mask), config


def onnx_session(path: Path) -> Any:
    """An onnxruntime CPU session of ``path``."""
    import onnxruntime

    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def export_module(
    module: nn.Module, inputs: tuple[Tensor, ...], path: Path, names: list[str], axes: Any
) -> None:
    """Write ``module`` (eval mode) as ONNX to ``path``: the TorchScript exporter
    (``dynamo=False``: no onnxscript needed), opset 17, with nn.TransformerEncoderLayer's
    fused inference kernel switched off (it has no ONNX form).

    Args:
        module: maps ``inputs`` to one (B, F) tensor, named ``features`` in the graph.
        inputs: example inputs.
        path: the ``.onnx`` file to write.
        names: the graph's input names, one per input.
        axes: ``dynamic_axes`` of ``torch.onnx.export`` (input and output name -> axes).
    """
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's warnings about Python values
            torch.onnx.export(
                module,
                inputs,
                str(path),
                input_names=names,
                output_names=["features"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def write_onnx(run: Any, folder: Path) -> str:
    """Write ``model.onnx`` and ``onnx.json`` (and ``tokenizer.json`` for text); returns the
    card's "how to load"."""
    module, inputs, config = _graph(run)
    names = list(config["inputs"])
    axes = {name: {0: "batch", 1: "sequence"} if len(names) > 1 else {0: "batch"} for name in names}
    path = folder / ONNX_NAME
    export_module(module, inputs, path, names, {**axes, "features": {0: "batch"}})
    with torch.no_grad():
        expected = module(*inputs).numpy()
    feeds = {name: tensor.numpy() for name, tensor in zip(names, inputs, strict=True)}
    (got,) = onnx_session(path).run(["features"], feeds)
    error = float(np.abs(got - expected).max())
    if error > TOLERANCE:
        raise RuntimeError(f"the ONNX export differs from torch by {error:.2e} (> {TOLERANCE})")
    config["output"] = {"features": ["batch", int(expected.shape[1])]}
    if "tokenizer" in config:
        text_encoder(run.method).tokenizer.backend.save(str(folder / "tokenizer.json"))
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    feed = (
        "{'images': normalized_images}"
        if len(names) == 1
        else ("{'input_ids': ids, 'attention_mask': mask}")
    )
    return "\n".join(
        [
            "```python",
            "import onnxruntime",
            "",
            "session = onnxruntime.InferenceSession('THIS_FOLDER/model.onnx')",
            f"(features,) = session.run(['features'], {feed})",
            "```",
            "",
            "Inputs, preprocessing and tokenizer are described in `onnx.json`.",
        ]
    )


__all__ = ["TextGraph", "export_module", "onnx_session", "text_graph", "write_onnx"]
