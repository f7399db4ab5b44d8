"""contrastkit's small Transformer written with plain tensor ops, for the ONNX tracer.

``nn.MultiheadAttention`` traced by the TorchScript exporter bakes the example's sequence length
into its reshapes; this module computes the same function from the same parameters with
reshapes that keep the batch and sequence axes dynamic.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class TraceableSmallTransformer(nn.Module):
    """The token states of a :class:`~contrastkit.encoders.text.small.SmallTransformer` (eval
    mode: no dropout), as its ``forward`` returns them.

    Args:
        backbone: the trained ``SmallTransformer`` (its parameters are shared, not copied).
    """

    def __init__(self, backbone: Any) -> None:
        super().__init__()
        self.backbone = backbone
        self.hidden_size, self.max_positions = backbone.hidden_size, backbone.max_positions
        self.bert_pooler = None

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> list[Tensor]:
        backbone = self.backbone
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = backbone.token_embedding(input_ids) + backbone.position_embedding(positions)
        attend = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, L): True where attended
        states = [x]
        for layer in backbone.encoder.layers:
            x = x + self._attention(layer.self_attn, layer.norm1(x), attend)
            x = x + layer.linear2(layer.activation(layer.linear1(layer.norm2(x))))
            states.append(x)
        states[-1] = backbone.norm(x)
        return states

    @staticmethod
    def _attention(attention: nn.MultiheadAttention, x: Tensor, attend: Tensor) -> Tensor:
        batch, width, heads = x.shape[0], x.shape[2], attention.num_heads
        qkv = F.linear(x, attention.in_proj_weight, attention.in_proj_bias)
        q, k, v = (
            t.reshape(batch, -1, heads, width // heads).transpose(1, 2) for t in qkv.chunk(3, -1)
        )
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attend)
        return attention.out_proj(out.transpose(1, 2).reshape(batch, -1, width))
