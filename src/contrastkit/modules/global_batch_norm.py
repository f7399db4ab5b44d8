"""Batch normalization over the global batch of every process, on CPU (gloo) and CUDA."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from contrastkit.distributed import all_reduce_with_grad, is_distributed


class GlobalBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics cover the samples of every process.

    SimCLR (arXiv 2002.05709, section "Global BN") notes that per-device BatchNorm lets the
    model cheat on the contrastive task by leaking information between a device's samples;
    statistics over the whole global batch remove that. ``torch.nn.SyncBatchNorm`` does this
    on GPUs only; this module works on any device and backend, with exact gradients: mean and
    variance come from differentiable all-reduced sums (two passes, for precision). In a single
    process, or in eval mode, it is plain BatchNorm. Input (B, C) or (B, C, ...).
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(
                f"GlobalBatchNorm expects (B, C, ...) inputs, got {tuple(input.shape)}"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        if not (self.training and is_distributed()):
            return super().forward(input)
        dims = [0, *range(2, input.dim())]
        count = all_reduce_with_grad(
            torch.tensor(float(input.numel() // input.shape[1]), device=input.device)
        )
        mean = all_reduce_with_grad(input.sum(dim=dims)) / count
        shape = [1, -1, *([1] * (input.dim() - 2))]
        centered = input - mean.reshape(shape)
        var = all_reduce_with_grad(centered.pow(2).sum(dim=dims)) / count
        self._update_running_stats(mean.detach(), var.detach(), float(count))
        output = centered / torch.sqrt(var.reshape(shape) + self.eps)
        if self.affine:
            output = output * self.weight.reshape(shape) + self.bias.reshape(shape)
        return output

    @torch.no_grad()
    def _update_running_stats(self, mean: Tensor, var: Tensor, count: float) -> None:
        if not self.track_running_stats or self.running_mean is None or self.running_var is None:
            return
        assert self.num_batches_tracked is not None
        self.num_batches_tracked.add_(1)
        momentum = (
            self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        )
        unbiased = var * count / max(count - 1.0, 1.0)
        self.running_mean.lerp_(mean, momentum)
        self.running_var.lerp_(unbiased, momentum)


def convert_global_batch_norm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm1d/2d/3d in ``module`` by a :class:`GlobalBatchNorm` (in place).

    Parameters and running statistics are moved over (the same tensors), so call it before
    building the optimizer. Returns the module (or its replacement, when ``module`` itself is a
    BatchNorm).
    """
    if isinstance(module, _BatchNorm) and not isinstance(module, GlobalBatchNorm):
        replacement = GlobalBatchNorm(
            module.num_features,
            module.eps,
            module.momentum,
            module.affine,
            module.track_running_stats,
        )
        if module.affine:
            replacement.weight, replacement.bias = module.weight, module.bias
        replacement.running_mean = module.running_mean
        replacement.running_var = module.running_var
        replacement.num_batches_tracked = module.num_batches_tracked
        replacement.train(module.training)
        return replacement
    for name, child in module.named_children():
        converted = convert_global_batch_norm(child)
        if converted is not child:
            setattr(module, name, converted)
    return module
