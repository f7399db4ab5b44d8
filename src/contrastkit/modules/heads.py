"""Projection and prediction heads: one MLP class and the papers' presets."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from torch import Tensor, nn


class MLP(nn.Module):
    """A stack of Linear layers with optional BatchNorm and ReLU between them.

    ``dims = [in, hidden..., out]``. Every hidden layer is Linear -> BatchNorm1d (if
    ``batch_norm``) -> ReLU; the last layer is Linear, followed by an affine-free BatchNorm1d
    when ``last_batch_norm`` (SimSiam's projector). Linear layers followed by BatchNorm have no
    bias (it would be cancelled).

    Args:
        dims: layer widths, at least two.
        batch_norm: BatchNorm1d after each hidden Linear.
        last_batch_norm: affine-free BatchNorm1d after the output Linear.

    Example:
        >>> head = MLP([512, 2048, 128])
        >>> head.out_dim
        128
    """

    def __init__(
        self, dims: list[int], *, batch_norm: bool = True, last_batch_norm: bool = False
    ) -> None:
        super().__init__()
        if len(dims) < 2 or any(d < 1 for d in dims):
            raise ValueError(
                f"dims must list at least two positive widths [in, ..., out], got {dims}"
            )
        layers: list[nn.Module] = []
        for width_in, width_out in itertools.pairwise(dims[:-1]):
            layers.append(nn.Linear(width_in, width_out, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width_out))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Linear(dims[-2], dims[-1], bias=not last_batch_norm))
        if last_batch_norm:
            layers.append(nn.BatchNorm1d(dims[-1], affine=False))
        self.layers = nn.Sequential(*layers)
        self.in_dim, self.out_dim = dims[0], dims[-1]

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


@dataclass(frozen=True)
class HeadPreset:
    """A paper's head: hidden width, output width, layer count and normalization."""

    hidden_dim: int
    out_dim: int
    num_layers: int
    batch_norm: bool
    last_batch_norm: bool = False
    paper: str = ""


HEAD_PRESETS: dict[str, HeadPreset] = {
    # SimCLR (2002.05709): 2-layer projection, ResNet width hidden in the paper, 128-d output.
    "simclr_projection": HeadPreset(2048, 128, 2, True, paper="SimCLR 2002.05709"),
    # MoCo v2 (2003.04297): 2-layer MLP without BatchNorm, 128-d output.
    "moco_projection": HeadPreset(2048, 128, 2, False, paper="MoCo v2 2003.04297"),
    # BYOL (2006.07733): projection and prediction 4096 hidden, 256 out, BatchNorm.
    "byol_projection": HeadPreset(4096, 256, 2, True, paper="BYOL 2006.07733"),
    "byol_prediction": HeadPreset(4096, 256, 2, True, paper="BYOL 2006.07733"),
    # SimSiam (2011.10566): 3-layer projector with BN on the output; 512-d bottleneck predictor.
    "simsiam_projection": HeadPreset(2048, 2048, 3, True, True, paper="SimSiam 2011.10566"),
    "simsiam_prediction": HeadPreset(512, 2048, 2, True, paper="SimSiam 2011.10566"),
    # MoCo v3 (2104.02057), ResNet variant: projector with affine-free BN on the output.
    "mocov3_projection": HeadPreset(4096, 256, 2, True, True, paper="MoCo v3 2104.02057"),
    "mocov3_prediction": HeadPreset(4096, 256, 2, True, paper="MoCo v3 2104.02057"),
    # NNCLR (2104.14548): 3-layer projector with BN on the output, 2-layer predictor.
    "nnclr_projection": HeadPreset(2048, 256, 3, True, True, paper="NNCLR 2104.14548"),
    "nnclr_prediction": HeadPreset(4096, 256, 2, True, paper="NNCLR 2104.14548"),
    # SwAV (2006.09882): 2-layer projection with BN, 128-d output (the prototype space).
    "swav_projection": HeadPreset(2048, 128, 2, True, paper="SwAV 2006.09882"),
    # Barlow Twins (2103.03230) and VICReg (2105.04906): 3-layer 8192-wide projector/expander.
    "barlow_twins_projection": HeadPreset(8192, 8192, 3, True, paper="Barlow Twins 2103.03230"),
    "vicreg_expander": HeadPreset(8192, 8192, 3, True, paper="VICReg 2105.04906"),
    # SupCon (2004.11362): 2-layer projection without BatchNorm, 128-d output.
    "supcon_projection": HeadPreset(2048, 128, 2, False, paper="SupCon 2004.11362"),
}


def make_head(preset: str, in_dim: int, **overrides: int | bool) -> MLP:
    """Build a paper's head from :data:`HEAD_PRESETS`, overriding any field by keyword.

    Example:
        >>> head = make_head("simclr_projection", 512, hidden_dim=512)
        >>> head.out_dim
        128
    """
    if preset not in HEAD_PRESETS:
        raise ValueError(f"unknown head preset {preset!r}; choose one of {sorted(HEAD_PRESETS)}")
    base = HEAD_PRESETS[preset]
    unknown = set(overrides) - {
        "hidden_dim",
        "out_dim",
        "num_layers",
        "batch_norm",
        "last_batch_norm",
    }
    if unknown:
        raise ValueError(f"make_head got unknown overrides {sorted(unknown)}")
    fields = {**base.__dict__, **overrides}
    num_layers = int(fields["num_layers"])
    if num_layers < 1:
        raise ValueError(f"num_layers must be >= 1, got {num_layers}")
    dims = [in_dim, *([int(fields["hidden_dim"])] * (num_layers - 1)), int(fields["out_dim"])]
    return MLP(
        dims, batch_norm=bool(fields["batch_norm"]), last_batch_norm=bool(fields["last_batch_norm"])
    )
