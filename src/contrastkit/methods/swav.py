"""SwAV: swapped prediction of online cluster codes, with multi-crop."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.distributed import global_mean
from contrastkit.losses import sinkhorn_knopp
from contrastkit.methods.base import MethodOutput, check_sizes, check_step, feature_dim
from contrastkit.methods.multi_crop import multi_crop_features
from contrastkit.modules import make_head
from contrastkit.types import ViewBatch, check_positive


def multi_crop_swapped_prediction(
    scores: Tensor, codes: Tensor, *, temperature: float, gather_distributed: bool
) -> Tensor:
    """SwAV's multi-crop loss: every view predicts the code of every *other* global view.

    ``scores`` (V, B, K), ``codes`` (G, B, K) of the first G views. The loss is
    ``1/G sum_g 1/(V-1) sum_{v != g} mean_b -codes[g, b] . log softmax(scores[v, b] / t)``,
    as in the paper's code; with V = G = 2 it is :func:`contrastkit.losses.swapped_prediction`.
    """
    log_probs = torch.log_softmax(scores / temperature, dim=2)
    cross = -torch.einsum("gbk,vbk->gvb", codes, log_probs)  # (G, V, B)
    global_views, views = cross.shape[:2]
    other = ~torch.eye(global_views, views, dtype=torch.bool, device=cross.device)
    per_sample = (cross * other[:, :, None]).sum(dim=(0, 1)) / (global_views * (views - 1))
    return global_mean(per_sample, gather_distributed=gather_distributed)


class SwAV(nn.Module):
    """SwAV (arXiv 2006.09882): predict a view's cluster code from the other views.

    ::

        z_v = normalize(g(f(x_v)))              projector g: Linear-BN-ReLU-Linear
        C   = normalize(prototypes) (K, D)      re-normalized at every forward (no gradient)
        s_v = z_v @ C.T                         prototype scores (B, K)
        q_g = SinkhornKnopp(s_g, eps)           codes of the G global views only, no gradient
        p_v = softmax(s_v / t)
        L   = 1/G sum_g 1/(V-1) sum_{v != g} mean_b -q_g . log p_v

    Views are ``batch.views`` with the G global crops first and the local (multi-crop) crops
    after them; each view predicts the codes of every other global view. With two views this
    is :func:`contrastkit.losses.swav`. Codes are computed over the global batch when
    ``gather_distributed``. The optional feature queue of the paper (for small batches) is not
    implemented.

    Prototype freezing: the paper freezes the prototypes during the first epoch. While
    ``progress < freeze_prototypes_until`` the scores use detached prototypes, so the
    prototypes get no gradient (``grad`` stays None, and optimizers skip them). To match the
    paper set it to ``1 / epochs``.

    ``MethodOutput.embeddings`` are the normalized projections z of views 0 and 1.

    Args:
        encoder: backbone with a ``feature_dim`` attribute.
        proj_hidden_dim: projector hidden width (2048).
        proj_dim: projection and prototype dimension D (128).
        num_prototypes: number of prototypes K (3000).
        temperature: softmax temperature t (0.1).
        sinkhorn_iters: Sinkhorn-Knopp iterations (3).
        epsilon: entropic regularization of the codes (0.05).
        global_views: number G of leading views whose codes are computed (2).
        freeze_prototypes_until: progress before which the prototypes are frozen (0.0).
        gather_distributed: Sinkhorn-Knopp over the scores of every process.

    Example:
        >>> import torch
        >>> from contrastkit.encoders.base import Encoder
        >>> from contrastkit.types import ViewBatch
        >>> encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(48, 16)), feature_dim=16)
        >>> method = SwAV(encoder, proj_hidden_dim=32, proj_dim=16, num_prototypes=10)
        >>> batch = ViewBatch([torch.randn(8, 3, 4, 4), torch.randn(8, 3, 4, 4)])
        >>> method(batch, progress=0.0).loss.shape
        torch.Size([])
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
        num_prototypes: int = 3000,
        temperature: float = 0.1,
        sinkhorn_iters: int = 3,
        epsilon: float = 0.05,
        global_views: int = 2,
        freeze_prototypes_until: float = 0.0,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        check_sizes(
            proj_hidden_dim=proj_hidden_dim,
            proj_dim=proj_dim,
            num_prototypes=num_prototypes,
            sinkhorn_iters=sinkhorn_iters,
            global_views=global_views,
        )
        check_positive("temperature", temperature)
        check_positive("epsilon", epsilon)
        if not 0.0 <= freeze_prototypes_until <= 1.0:
            raise ValueError(
                f"freeze_prototypes_until must be in [0, 1], got {freeze_prototypes_until}"
            )
        self.encoder = encoder
        self.projector = make_head(
            "swav_projection", feature_dim(encoder), hidden_dim=proj_hidden_dim, out_dim=proj_dim
        )
        self.prototypes = nn.Linear(proj_dim, num_prototypes, bias=False)
        self.temperature, self.sinkhorn_iters, self.epsilon = temperature, sinkhorn_iters, epsilon
        self.global_views = global_views
        self.freeze_prototypes_until = freeze_prototypes_until
        self.gather_distributed = gather_distributed

    def forward(self, batch: ViewBatch, *, progress: float) -> MethodOutput:
        check_step(
            batch,
            progress,
            method=f"SwAV (global_views={self.global_views})",
            min_views=max(2, self.global_views),
        )
        views, batch_size = len(batch.views), batch.batch_size
        with torch.no_grad():
            self.prototypes.weight.copy_(F.normalize(self.prototypes.weight, dim=1))
        frozen = progress < self.freeze_prototypes_until
        prototypes = self.prototypes.weight.detach() if frozen else self.prototypes.weight
        z = F.normalize(self.projector(multi_crop_features(self.encoder, batch.views)), dim=1)
        scores = (z @ prototypes.T).reshape(views, batch_size, -1)
        codes = torch.stack(
            [
                sinkhorn_knopp(
                    scores[g].detach(),
                    iters=self.sinkhorn_iters,
                    epsilon=self.epsilon,
                    gather_distributed=self.gather_distributed,
                )
                for g in range(self.global_views)
            ]
        )
        loss = multi_crop_swapped_prediction(
            scores,
            codes,
            temperature=self.temperature,
            gather_distributed=self.gather_distributed,
        )
        z_views = z.detach().reshape(views, batch_size, -1)
        return MethodOutput(loss, (z_views[0], z_views[1]), {"prototypes_frozen": float(frozen)})

    def encode(self, x: Tensor) -> Tensor:
        """Backbone features (B, F), without the projector."""
        return self.encoder(x)
