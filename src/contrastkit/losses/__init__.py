"""Contrastive and self-supervised losses: pure functions plus thin ``nn.Module`` wrappers.

Every function takes its hyper-parameters as keyword-only arguments with the paper's
defaults and returns a scalar tensor. The modules validate hyper-parameters in ``__init__``
and, for losses that use negatives or batch statistics, take ``gather_distributed``.
"""

from contrastkit.losses.barlow_twins import BarlowTwinsLoss, barlow_twins
from contrastkit.losses.clip import CLIPLoss, clip_loss
from contrastkit.losses.cosent import CoSENTLoss, cosent
from contrastkit.losses.dcl import DCLLoss, DCLWLoss, dcl, dclw, vmf_weights
from contrastkit.losses.debiased import (
    DebiasedNCELoss,
    HardNegativeNCELoss,
    debiased_nce,
    hard_negative_nce,
)
from contrastkit.losses.dino import DINOLoss, dino_loss
from contrastkit.losses.info_nce import InfoNCELoss, info_nce
from contrastkit.losses.matryoshka import MatryoshkaLoss, matryoshka_loss
from contrastkit.losses.negative_cosine import NegativeCosineLoss, negative_cosine
from contrastkit.losses.nt_xent import NTXentLoss, nt_xent
from contrastkit.losses.siglip import SigLIPLoss, siglip_loss
from contrastkit.losses.supcon import SupConLoss, supcon
from contrastkit.losses.swav import SwAVLoss, sinkhorn_knopp, swapped_prediction, swav
from contrastkit.losses.vicreg import VICRegLoss, vicreg

__all__ = [
    "BarlowTwinsLoss",
    "CLIPLoss",
    "CoSENTLoss",
    "DCLLoss",
    "DCLWLoss",
    "DINOLoss",
    "DebiasedNCELoss",
    "HardNegativeNCELoss",
    "InfoNCELoss",
    "MatryoshkaLoss",
    "NTXentLoss",
    "NegativeCosineLoss",
    "SigLIPLoss",
    "SupConLoss",
    "SwAVLoss",
    "VICRegLoss",
    "barlow_twins",
    "clip_loss",
    "cosent",
    "dcl",
    "dclw",
    "debiased_nce",
    "dino_loss",
    "hard_negative_nce",
    "info_nce",
    "matryoshka_loss",
    "negative_cosine",
    "nt_xent",
    "siglip_loss",
    "sinkhorn_knopp",
    "supcon",
    "swapped_prediction",
    "swav",
    "vicreg",
    "vmf_weights",
]
