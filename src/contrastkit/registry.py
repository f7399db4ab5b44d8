"""The only place where a string becomes a class: losses by name, for the CLI and contract tests."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from contrastkit import losses


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


def build_loss(name: str, **hyperparameters: object) -> nn.Module:
    """Instantiate a registered loss by name with keyword hyper-parameters.

    Example:
        >>> build_loss("nt_xent", temperature=0.2)
        NTXentLoss()
    """
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(sorted(LOSSES))}")
    return LOSSES[name].module(**hyperparameters)
