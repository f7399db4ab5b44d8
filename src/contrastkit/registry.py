"""The only place where a string becomes a class: losses, methods, encoders, views, datasets."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from contrastkit import losses, methods
from contrastkit.data.load import BUILTIN as DATASETS
from contrastkit.encoders.build import ENCODERS, build_encoder
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

    ``modality`` picks the pipeline that builds its data and model and evaluates it
    (:mod:`contrastkit.pipelines`): ``"image"``, ``"text"`` or ``"image_text"``.
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

__all__ = [
    "DATASETS",
    "ENCODERS",
    "LOSSES",
    "METHODS",
    "VIEW_RECIPES",
    "build_encoder",
    "build_loss",
]


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
