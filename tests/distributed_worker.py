"""One process of the 2-process gradient-equivalence check (run by tests/test_distributed.py).

Every process builds the same small encoder and the same global batch, encodes its own rows,
computes each loss with ``gather_distributed=True`` and saves the loss and the parameter
gradients. Run without a process group (WORLD_SIZE unset) it computes the single-process
reference on the whole batch. The test averages the processes' gradients, as
DistributedDataParallel does, and compares.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import torch
import torch.distributed as dist
from torch import Tensor, nn

from contrastkit import losses
from contrastkit.distributed import rank, world_size
from contrastkit.modules import Center

GLOBAL_BATCH = 8
IN_DIM, OUT_DIM = 6, 5


class Model(nn.Module):
    """A shared encoder plus the learnable scalars and prototypes some losses need."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.encoder = nn.Sequential(nn.Linear(IN_DIM, 7), nn.Tanh(), nn.Linear(7, OUT_DIM))
        self.logit_scale = nn.Parameter(torch.tensor(3.0))
        self.logit_bias = nn.Parameter(torch.tensor(-1.0))
        self.prototypes = nn.Parameter(torch.randn(4, OUT_DIM))

    def forward(self, x: Tensor) -> Tensor:
        return self.encoder(x)


def _global_batch() -> tuple[Tensor, Tensor, Tensor]:
    generator = torch.Generator().manual_seed(1)
    x_a = torch.randn(GLOBAL_BATCH, IN_DIM, generator=generator)
    x_b = x_a + 0.3 * torch.randn(GLOBAL_BATCH, IN_DIM, generator=generator)
    labels = torch.tensor([0, 1, 2, 0, 1, 3, 2, 0])
    return x_a, x_b, labels


def _local_rows(sizes: list[int]) -> slice:
    start = sum(sizes[: rank()])
    return slice(start, start + sizes[rank()])


Case = Callable[[Model, Tensor, Tensor, Tensor], Tensor]


def _scores(model: Model, z: Tensor) -> Tensor:
    return nn.functional.normalize(z, dim=1) @ nn.functional.normalize(model.prototypes, dim=1).T


def _dino(model: Model, x_a: Tensor, x_b: Tensor) -> Tensor:
    student = torch.stack([model(x_a), model(x_b), model(x_a * 0.5), model(x_b - 0.1)], dim=1)
    with torch.no_grad():
        teacher = torch.stack([model(x_a), model(x_b)], dim=1)
    return losses.DINOLoss()(student, teacher, center=torch.full((OUT_DIM,), 0.1))


CASES: dict[str, Case] = {
    "nt_xent": lambda m, a, b, y: losses.NTXentLoss(gather_distributed=True)(m(a), m(b)),
    "info_nce": lambda m, a, b, y: losses.InfoNCELoss(temperature=0.2, gather_distributed=True)(
        m(a), m(b), negatives=torch.linspace(-1, 1, 3 * OUT_DIM).reshape(3, OUT_DIM)
    ),
    "supcon": lambda m, a, b, y: losses.SupConLoss(gather_distributed=True)(
        torch.stack([m(a), m(b)], dim=1), y
    ),
    "supcon_one_view": lambda m, a, b, y: losses.SupConLoss(gather_distributed=True)(
        m(a)[:, None], y
    ),
    "dcl": lambda m, a, b, y: losses.DCLLoss(gather_distributed=True)(m(a), m(b)),
    "dclw": lambda m, a, b, y: losses.DCLWLoss(gather_distributed=True)(m(a), m(b)),
    "debiased_nce": lambda m, a, b, y: losses.DebiasedNCELoss(gather_distributed=True)(m(a), m(b)),
    "hard_negative_nce": lambda m, a, b, y: losses.HardNegativeNCELoss(gather_distributed=True)(
        m(a), m(b)
    ),
    "clip": lambda m, a, b, y: losses.CLIPLoss(gather_distributed=True)(m(a), m(b), m.logit_scale),
    "clip_labels": lambda m, a, b, y: losses.CLIPLoss(gather_distributed=True)(
        m(a), m(b), m.logit_scale, labels=y
    ),
    "siglip": lambda m, a, b, y: losses.SigLIPLoss(gather_distributed=True)(
        m(a), m(b), m.logit_scale, m.logit_bias
    ),
    "cosent": lambda m, a, b, y: losses.CoSENTLoss(gather_distributed=True)(m(a), m(b), y.float()),
    "negative_cosine": lambda m, a, b, y: losses.NegativeCosineLoss()(m(a), m(b)),
    "barlow_twins": lambda m, a, b, y: losses.BarlowTwinsLoss(gather_distributed=True)(m(a), m(b)),
    "vicreg": lambda m, a, b, y: losses.VICRegLoss(gather_distributed=True)(m(a), m(b)),
    "swav": lambda m, a, b, y: losses.SwAVLoss(gather_distributed=True)(
        _scores(m, m(a)), _scores(m, m(b))
    ),
    "dino": lambda m, a, b, y: _dino(m, a, b),
    # Matryoshka: NT-Xent on the full embedding and on its first 3 and 1 coordinates
    "matryoshka": lambda m, a, b, y: losses.MatryoshkaLoss(
        losses.NTXentLoss(gather_distributed=True), dims=[OUT_DIM, 3, 1], weights=[1.0, 0.5, 2.0]
    )(m(a), m(b)),
    # The tiled losses (chunk_size: blocks of 3 rows, which divides no local batch's 2B rows).
    "nt_xent_tiled": lambda m, a, b, y: losses.NTXentLoss(gather_distributed=True, chunk_size=3)(
        m(a), m(b)
    ),
    "info_nce_tiled": lambda m, a, b, y: losses.InfoNCELoss(
        temperature=0.2, gather_distributed=True, chunk_size=3
    )(m(a), m(b), negatives=torch.linspace(-1, 1, 3 * OUT_DIM).reshape(3, OUT_DIM)),
    "supcon_tiled": lambda m, a, b, y: losses.SupConLoss(gather_distributed=True, chunk_size=3)(
        torch.stack([m(a), m(b)], dim=1), y
    ),
    "dcl_tiled": lambda m, a, b, y: losses.DCLWLoss(gather_distributed=True, chunk_size=3)(
        m(a), m(b)
    ),
    "clip_tiled": lambda m, a, b, y: losses.CLIPLoss(gather_distributed=True, chunk_size=3)(
        m(a), m(b), m.logit_scale
    ),
    "clip_labels_tiled": lambda m, a, b, y: losses.CLIPLoss(gather_distributed=True, chunk_size=3)(
        m(a), m(b), m.logit_scale, labels=y
    ),
    "siglip_tiled": lambda m, a, b, y: losses.SigLIPLoss(gather_distributed=True, chunk_size=3)(
        m(a), m(b), m.logit_scale, m.logit_bias
    ),
}
TILED_CASES = tuple(name for name in CASES if name.endswith("_tiled"))

# Per-process batch sizes, rank order: equal halves, and an unequal split.
SPLITS = {"equal": [4, 4], "unequal": [3, 5]}
UNEQUAL_CASES = (
    "nt_xent",
    "matryoshka",
    "info_nce",
    "supcon",
    "clip",
    "siglip",
    "cosent",
    "barlow_twins",
    "swav",
    *TILED_CASES,
)


def run(out_path: str) -> None:
    torch.set_default_dtype(torch.float64)
    x_a, x_b, labels = _global_batch()
    results: dict[str, dict[str, Tensor]] = {}
    for split, sizes in SPLITS.items():
        rows = _local_rows(sizes) if world_size() > 1 else slice(None)
        names = CASES if split == "equal" else UNEQUAL_CASES
        for name in names:
            model = Model()
            loss = CASES[name](model, x_a[rows], x_b[rows], labels[rows])
            loss.backward()
            grads = {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
            results[f"{name}/{split}"] = {"loss": loss.detach(), **grads}
    for split, sizes in SPLITS.items():
        rows = _local_rows(sizes) if world_size() > 1 else slice(None)
        center = Center(OUT_DIM, momentum=0.5)
        center.update(torch.stack([x_a[rows, :OUT_DIM], x_b[rows, :OUT_DIM]], dim=1))
        results[f"center/{split}"] = {"loss": center.value.clone()}
    torch.save(results, out_path)


if __name__ == "__main__":
    if "WORLD_SIZE" in os.environ:
        dist.init_process_group("gloo")
    run(sys.argv[1])
    if dist.is_initialized():
        dist.destroy_process_group()
