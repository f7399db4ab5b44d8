"""The only place where a string becomes a class: losses, methods, modalities, evaluation
protocols, encoders, views, data sets, export formats.

A new method, loss or protocol is one line here; a new modality is one package under
``contrastkit/modalities/`` plus one line in :func:`modalities`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from contrastkit import losses, methods
from contrastkit.data.load import BUILTIN as DATASETS
from contrastkit.encoders.build import ENCODERS, build_encoder
from contrastkit.eval.knn import KNN
from contrastkit.eval.linear import LINEAR
from contrastkit.eval.protocol import EvalProtocol
from contrastkit.eval.retrieval import RETRIEVAL
from contrastkit.eval.sts import STS
from contrastkit.eval.zero_shot import ZERO_SHOT
from contrastkit.export.backbone import write_backbone
from contrastkit.export.format import ExportFormat
from contrastkit.export.huggingface import write_huggingface
from contrastkit.export.onnx_model import write_onnx
from contrastkit.export.sentence_transformers import write_sentence_transformers
from contrastkit.export.two_tower import write_two_tower
from contrastkit.transforms.recipes import RECIPES as VIEW_RECIPES


@dataclass(frozen=True)
class LossEntry:
    """A registered loss: its module class, pure function name and paper."""

    module: type[nn.Module]
    function: str
    paper: str
    uses_negatives: bool


LOSSES: dict[str, LossEntry] = {
    "nt_xent": LossEntry(losses.NTXentLoss, "nt_xent", "SimCLR, arXiv 2002.05709", True),
    "info_nce": LossEntry(losses.InfoNCELoss, "info_nce", "CPC 1807.03748; MoCo 1911.05722", True),
    "supcon": LossEntry(losses.SupConLoss, "supcon", "SupCon, arXiv 2004.11362", True),
    "dcl": LossEntry(losses.DCLLoss, "dcl", "Decoupled CL, arXiv 2110.06848", True),
    "dclw": LossEntry(losses.DCLWLoss, "dclw", "Decoupled CL, arXiv 2110.06848", True),
    "debiased_nce": LossEntry(
        losses.DebiasedNCELoss, "debiased_nce", "Debiased CL, arXiv 2007.00224", True
    ),
    "hard_negative_nce": LossEntry(
        losses.HardNegativeNCELoss, "hard_negative_nce", "HCL, arXiv 2010.04592", True
    ),
    "clip": LossEntry(losses.CLIPLoss, "clip_loss", "CLIP 2103.00020; UniCL 2204.03610", True),
    "siglip": LossEntry(losses.SigLIPLoss, "siglip_loss", "SigLIP, arXiv 2303.15343", True),
    "cosent": LossEntry(losses.CoSENTLoss, "cosent", "CoSENT; AnglE, arXiv 2309.12871", True),
    "negative_cosine": LossEntry(
        losses.NegativeCosineLoss, "negative_cosine", "BYOL 2006.07733; SimSiam 2011.10566", False
    ),
    "barlow_twins": LossEntry(
        losses.BarlowTwinsLoss, "barlow_twins", "Barlow Twins, arXiv 2103.03230", False
    ),
    "vicreg": LossEntry(losses.VICRegLoss, "vicreg", "VICReg, arXiv 2105.04906", False),
    "swav": LossEntry(losses.SwAVLoss, "swav", "SwAV, arXiv 2006.09882", False),
    "dino": LossEntry(losses.DINOLoss, "dino_loss", "DINO, arXiv 2104.14294", False),
}


@dataclass(frozen=True)
class MethodEntry:
    """A registered method: its class, paper, whether it needs labelled data, and its modality.

    ``modality`` names the modality that builds its data and model and evaluates it
    (:func:`modalities`): ``"image"``, ``"text"`` or ``"image_text"``.
    """

    cls: Callable[..., nn.Module]
    paper: str
    needs_labels: bool = False
    modality: str = "image"


METHODS: dict[str, MethodEntry] = {
    "simclr": MethodEntry(methods.SimCLR, "SimCLR, arXiv 2002.05709"),
    "moco_v2": MethodEntry(methods.MoCoV2, "MoCo v2, arXiv 2003.04297"),
    "moco_v3": MethodEntry(methods.MoCoV3, "MoCo v3, arXiv 2104.02057"),
    "byol": MethodEntry(methods.BYOL, "BYOL, arXiv 2006.07733"),
    "simsiam": MethodEntry(methods.SimSiam, "SimSiam, arXiv 2011.10566"),
    "nnclr": MethodEntry(methods.NNCLR, "NNCLR, arXiv 2104.14548"),
    "swav": MethodEntry(methods.SwAV, "SwAV, arXiv 2006.09882"),
    "dino": MethodEntry(methods.DINO, "DINO, arXiv 2104.14294"),
    "barlow_twins": MethodEntry(methods.BarlowTwins, "Barlow Twins, arXiv 2103.03230"),
    "vicreg": MethodEntry(methods.VICReg, "VICReg, arXiv 2105.04906"),
    "supcon": MethodEntry(methods.SupCon, "SupCon, arXiv 2004.11362", needs_labels=True),
    "simcse": MethodEntry(methods.SimCSE, "SimCSE, arXiv 2104.08821", modality="text"),
    "two_tower": MethodEntry(
        methods.TwoTower,
        "CLIP 2103.00020; SigLIP 2303.15343; LiT 2111.07991",
        modality="image_text",
    ),
}

PROTOCOLS: dict[str, EvalProtocol] = {p.name: p for p in (KNN, LINEAR, STS, RETRIEVAL, ZERO_SHOT)}

EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "backbone",
            ("image",),
            write_backbone,
            "The image encoder as safetensors (torchvision names for ResNets), the JSON that "
            "rebuilds it, and its preprocessing.",
        ),
        ExportFormat(
            "sentence-transformers",
            ("text",),
            write_sentence_transformers,
            "A sentence-transformers folder (Transformer, Pooling, Dense where the run used one).",
        ),
        ExportFormat(
            "huggingface",
            ("text",),
            write_huggingface,
            "The Transformer and tokenizer, saved with save_pretrained.",
        ),
        ExportFormat(
            "onnx",
            ("image", "text"),
            write_onnx,
            "The encoder as ONNX with dynamic batch (and sequence) axes, checked with onnxruntime.",
        ),
        ExportFormat(
            "two_tower",
            ("image_text",),
            write_two_tower,
            "Both towers, projections and logit scale as safetensors; contrastkit.load_model.",
        ),
    )
}

__all__ = [
    "DATASETS",
    "ENCODERS",
    "EXPORT_FORMATS",
    "LOSSES",
    "METHODS",
    "PROTOCOLS",
    "VIEW_RECIPES",
    "build_encoder",
    "build_loss",
    "build_method",
    "export_format",
    "modalities",
    "modality_of",
    "protocols_for",
    "register_protocol",
]


def modalities() -> dict[str, Any]:
    """The registered modalities by name (:class:`contrastkit.modalities.base.Modality`).

    Imported on first use: the modality packages build on the registry's tables.

    Example:
        >>> sorted(modalities())
        ['image', 'image_text', 'text']
    """
    from contrastkit.modalities.image import IMAGE
    from contrastkit.modalities.image_text import IMAGE_TEXT
    from contrastkit.modalities.text import TEXT

    return {m.name: m for m in (IMAGE, TEXT, IMAGE_TEXT)}


def modality_of(method: str) -> Any:
    """The modality of a registered method.

    Example:
        >>> modality_of("simcse").name
        'text'
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(sorted(METHODS))}")
    return modalities()[METHODS[method].modality]


def protocols_for(modality: str) -> dict[str, EvalProtocol]:
    """The registered protocols that evaluate runs of ``modality``, by name.

    Example:
        >>> list(protocols_for("image"))
        ['knn', 'linear']
    """
    return {name: p for name, p in PROTOCOLS.items() if modality in p.modalities}


def register_protocol(protocol: EvalProtocol) -> EvalProtocol:
    """Add an evaluation protocol (or replace the one of the same name); returns it.

    Its parameters become recipe keys of its modalities, and ``contrastkit eval --protocol``,
    training and the report run it.
    """
    if not isinstance(protocol, EvalProtocol):
        raise ValueError(f"register_protocol takes an EvalProtocol, got {type(protocol).__name__}")
    PROTOCOLS[protocol.name] = protocol
    return protocol


def build_loss(name: str, **hyperparameters: object) -> nn.Module:
    """Instantiate a registered loss by name with keyword hyper-parameters.

    Example:
        >>> build_loss("nt_xent", temperature=0.2)
        NTXentLoss()
    """
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(sorted(LOSSES))}")
    return LOSSES[name].module(**hyperparameters)


def build_method(name: str, encoder: nn.Module, **hyperparameters: object) -> nn.Module:
    """Instantiate a registered method around ``encoder``; unknown options are named."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(sorted(METHODS))}")
    cls = METHODS[name].cls
    accepted = [p for p in inspect.signature(cls).parameters if p != "encoder"]
    unknown = sorted(set(hyperparameters) - set(accepted))
    if unknown:
        raise ValueError(
            f"method {name!r} does not take {', '.join(unknown)}; it takes {', '.join(accepted)}"
        )
    return cls(encoder, **hyperparameters)


def export_format(name: str, modality: str) -> ExportFormat:
    """The export format ``name`` for a run of ``modality``; a ``ValueError`` names the formats
    that apply.

    Example:
        >>> export_format("onnx", "text").name
        'onnx'
    """
    applies = [n for n, f in EXPORT_FORMATS.items() if modality in f.modalities]
    if name not in EXPORT_FORMATS:
        raise ValueError(
            f"unknown export format {name!r}; choose one of {', '.join(EXPORT_FORMATS)} "
            f"({', '.join(applies)} for {modality} runs)"
        )
    if modality not in EXPORT_FORMATS[name].modalities:
        raise ValueError(
            f"format {name!r} does not apply to {modality} runs; choose one of {', '.join(applies)}"
        )
    return EXPORT_FORMATS[name]
