"""contrastkit's small Transformer as a Hugging Face model: ``XLMRobertaXLModel``.

The small Transformer (:class:`~contrastkit.encoders.text.small.SmallTransformer`) is a
pre-layer-norm encoder with learned positions and a final LayerNorm; BERT (post-layer-norm)
cannot hold it, but XLM-RoBERTa-XL is exactly that architecture: embeddings (word + position +
one token type) with no LayerNorm, then per layer ``x + attn(LN1(x))`` and
``x + W2 gelu(W1 LN2(x))``, then a final LayerNorm. RoBERTa numbers positions from
``pad_token_id + 1``, so the position table gains a padding row in front.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


def _state(backbone: Any) -> dict[str, Tensor]:
    """The small Transformer's parameters under XLM-RoBERTa-XL's names."""
    width = backbone.hidden_size
    positions = backbone.position_embedding.weight.detach()
    state = {
        "embeddings.word_embeddings.weight": backbone.token_embedding.weight.detach(),
        "embeddings.position_embeddings.weight": torch.cat(
            [positions.new_zeros(1, width), positions]
        ),
        "embeddings.token_type_embeddings.weight": positions.new_zeros(1, width),
        "encoder.LayerNorm.weight": backbone.norm.weight.detach(),
        "encoder.LayerNorm.bias": backbone.norm.bias.detach(),
    }
    for index, layer in enumerate(backbone.encoder.layers):
        prefix = f"encoder.layer.{index}."
        weights = layer.self_attn.in_proj_weight.detach().chunk(3)
        biases = layer.self_attn.in_proj_bias.detach().chunk(3)
        for name, weight, bias in zip(("query", "key", "value"), weights, biases, strict=True):
            state[f"{prefix}attention.self.{name}.weight"] = weight
            state[f"{prefix}attention.self.{name}.bias"] = bias
        pairs = {
            "attention.output.dense": layer.self_attn.out_proj,
            "attention.self_attn_layer_norm": layer.norm1,
            "LayerNorm": layer.norm2,
            "intermediate.dense": layer.linear1,
            "output.dense": layer.linear2,
        }
        for name, module in pairs.items():
            state[f"{prefix}{name}.weight"] = module.weight.detach()
            state[f"{prefix}{name}.bias"] = module.bias.detach()
    return {name: tensor.clone() for name, tensor in state.items()}


def to_xlm_roberta_xl(backbone: Any, pad_id: int) -> nn.Module:
    """An ``XLMRobertaXLModel`` (no pooler) computing ``backbone``'s token states.

    Args:
        backbone: a trained :class:`~contrastkit.encoders.text.small.SmallTransformer`.
        pad_id: the tokenizer's padding id (RoBERTa's positions start after it).

    Raises:
        RuntimeError: the converted model's last-layer states differ from the backbone's by
            more than 1e-5 on a probe batch.
    """
    from contrastkit.encoders.text.optional import import_text_dependency

    transformers = import_text_dependency("transformers")
    layer = backbone.encoder.layers[0]
    config = transformers.XLMRobertaXLConfig(
        vocab_size=backbone.token_embedding.num_embeddings,
        hidden_size=backbone.hidden_size,
        num_hidden_layers=len(backbone.encoder.layers),
        num_attention_heads=layer.self_attn.num_heads,
        intermediate_size=layer.linear1.out_features,
        hidden_act="gelu",
        hidden_dropout_prob=backbone.dropout.p,
        attention_probs_dropout_prob=backbone.dropout.p,
        max_position_embeddings=backbone.max_positions + pad_id + 1,
        type_vocab_size=1,
        layer_norm_eps=layer.norm1.eps,
        pad_token_id=pad_id,
    )
    model = transformers.XLMRobertaXLModel(config, add_pooling_layer=False).eval()
    state = _state(backbone)
    if pad_id != 0:  # the rows before the first position: never used
        rows = state["embeddings.position_embeddings.weight"]
        state["embeddings.position_embeddings.weight"] = torch.cat(
            [rows.new_zeros(pad_id, rows.shape[1]), rows]
        )
    model.load_state_dict(state, strict=True)
    _check(model, backbone, pad_id)
    return model


@torch.no_grad()
def _check(model: nn.Module, backbone: Any, pad_id: int) -> None:
    was_training = backbone.training
    backbone.eval()
    ids = torch.tensor(
        [[101, 2023, 2003, 1037, 3231, 102], [101, 7592, 102, pad_id, pad_id, pad_id]]
    )
    mask = (torch.arange(6) < torch.tensor([[6], [3]])).long()
    ours = backbone(ids, mask)[-1]
    theirs = model(input_ids=ids, attention_mask=mask).last_hidden_state
    backbone.train(was_training)
    error = float((ours - theirs)[mask.bool()].abs().max())
    if error > 1e-5:
        raise RuntimeError(f"the small Transformer as XLM-RoBERTa-XL differs by {error:.2e}")
