"""Self-supervised methods: one file each, composing encoder + head + loss + state."""

from contrastkit.methods.barlow_twins import BarlowTwins
from contrastkit.methods.base import CachedMethod, Method, MethodOutput, feature_dim
from contrastkit.methods.byol import BYOL
from contrastkit.methods.dino import DINO, teacher_temperature_schedule
from contrastkit.methods.moco import MoCoV2, MoCoV3
from contrastkit.methods.nnclr import NNCLR
from contrastkit.methods.simclr import SimCLR
from contrastkit.methods.simcse import SimCSE
from contrastkit.methods.simsiam import SimSiam
from contrastkit.methods.supcon import SupCon
from contrastkit.methods.swav import SwAV
from contrastkit.methods.two_tower import TwoTower
from contrastkit.methods.vicreg import VICReg
from contrastkit.types import PairBatch, TextBatch  # the batch types of SimCSE and TwoTower

__all__ = [
    "BYOL",
    "DINO",
    "NNCLR",
    "BarlowTwins",
    "CachedMethod",
    "Method",
    "MethodOutput",
    "MoCoV2",
    "MoCoV3",
    "PairBatch",
    "SimCLR",
    "SimCSE",
    "SimSiam",
    "SupCon",
    "SwAV",
    "TextBatch",
    "TwoTower",
    "VICReg",
    "feature_dim",
    "teacher_temperature_schedule",
]
