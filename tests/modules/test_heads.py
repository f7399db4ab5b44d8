"""Tests for MLP, make_head / HEAD_PRESETS and DINOHead."""

import pytest
import torch
from torch import nn

from contrastkit.modules import HEAD_PRESETS, MLP, DINOHead, make_head


def _layer_kinds(mlp: MLP) -> list[str]:
    return [type(layer).__name__ for layer in mlp.layers]


def test_mlp_layers_with_batch_norm() -> None:
    mlp = MLP([8, 16, 4])
    assert _layer_kinds(mlp) == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    hidden, bn, _, last = mlp.layers
    assert (hidden.in_features, hidden.out_features, hidden.bias) == (8, 16, None)
    assert bn.num_features == 16 and bn.affine
    assert (last.in_features, last.out_features) == (16, 4) and last.bias is not None
    assert (mlp.in_dim, mlp.out_dim) == (8, 4)


def test_mlp_layers_without_batch_norm() -> None:
    mlp = MLP([8, 16, 4], batch_norm=False)
    assert _layer_kinds(mlp) == ["Linear", "ReLU", "Linear"]
    assert all(layer.bias is not None for layer in mlp.layers if isinstance(layer, nn.Linear))


def test_mlp_last_batch_norm_is_affine_free_and_last_linear_has_no_bias() -> None:
    mlp = MLP([8, 16, 16, 4], last_batch_norm=True)
    kinds = ["Linear", "BatchNorm1d", "ReLU"] * 2 + ["Linear", "BatchNorm1d"]
    assert _layer_kinds(mlp) == kinds
    last_linear, last_bn = mlp.layers[-2], mlp.layers[-1]
    assert last_linear.bias is None
    assert last_bn.num_features == 4 and not last_bn.affine


def test_mlp_two_dims_is_one_linear() -> None:
    assert _layer_kinds(MLP([8, 4])) == ["Linear"]


@pytest.mark.parametrize(
    "dims", [[8, 16, 4], [8, 4], [3, 5, 5, 5, 2]], ids=["hidden", "linear", "deep"]
)
@pytest.mark.parametrize("last_batch_norm", [False, True])
def test_mlp_forward_shape(dims: list[int], last_batch_norm: bool) -> None:
    torch.manual_seed(0)
    mlp = MLP(dims, last_batch_norm=last_batch_norm)
    out = mlp(torch.randn(6, dims[0]))
    assert out.shape == (6, dims[-1]) and torch.isfinite(out).all()


@pytest.mark.parametrize("dims", [[], [8], [8, 0, 4], [0, 4], [8, -1]])
def test_mlp_bad_dims_raise(dims: list[int]) -> None:
    with pytest.raises(ValueError, match="dims"):
        MLP(dims)


@pytest.mark.parametrize("name", sorted(HEAD_PRESETS))
def test_every_preset_builds_and_gives_out_dim(name: str) -> None:
    torch.manual_seed(0)
    preset = HEAD_PRESETS[name]
    head = make_head(name, 32, hidden_dim=16)  # small hidden width keeps the test fast
    assert isinstance(head, MLP)
    assert (head.in_dim, head.out_dim) == (32, preset.out_dim)
    linears = [layer for layer in head.layers if isinstance(layer, nn.Linear)]
    assert len(linears) == preset.num_layers
    batch_norms = [layer for layer in head.layers if isinstance(layer, nn.BatchNorm1d)]
    hidden_bn = preset.num_layers - 1 if preset.batch_norm else 0
    assert len(batch_norms) == hidden_bn + int(preset.last_batch_norm)
    assert isinstance(head.layers[-1], nn.BatchNorm1d) == preset.last_batch_norm
    assert head(torch.randn(4, 32)).shape == (4, preset.out_dim)


def test_preset_default_widths() -> None:
    head = make_head("simclr_projection", 64)
    assert [layer.out_features for layer in head.layers if isinstance(layer, nn.Linear)] == [
        2048,
        128,
    ]


def test_overrides_apply() -> None:
    head = make_head(
        "simsiam_projection", 10, hidden_dim=12, out_dim=6, num_layers=4, last_batch_norm=False
    )
    linears = [layer for layer in head.layers if isinstance(layer, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (10, 12),
        (12, 12),
        (12, 12),
        (12, 6),
    ]
    assert not isinstance(head.layers[-1], nn.BatchNorm1d)
    no_bn = make_head("simclr_projection", 10, batch_norm=False, hidden_dim=12)
    assert not any(isinstance(layer, nn.BatchNorm1d) for layer in no_bn.layers)
    single = make_head("moco_projection", 10, num_layers=1)
    assert _layer_kinds(single) == ["Linear"] and single.out_dim == 128


def test_unknown_preset_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="nope_projection"):
        make_head("nope_projection", 8)


def test_unknown_override_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="hiden_dim"):
        make_head("simclr_projection", 8, hiden_dim=16)


def test_zero_layers_raises() -> None:
    with pytest.raises(ValueError, match="num_layers"):
        make_head("simclr_projection", 8, num_layers=0)


def _dino_head(**kwargs: int) -> DINOHead:
    torch.manual_seed(0)
    return DINOHead(16, **{"out_dim": 50, "hidden_dim": 32, "bottleneck_dim": 8, **kwargs})


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_dino_head_output_shape(num_layers: int) -> None:
    head = _dino_head(num_layers=num_layers)
    linears = [layer for layer in head.mlp if isinstance(layer, nn.Linear)]
    assert len(linears) == num_layers and linears[-1].out_features == 8
    torch.manual_seed(1)
    assert head(torch.randn(5, 16)).shape == (5, 50)


def test_dino_head_last_layer_norm_fixed_to_one_and_frozen() -> None:
    head = _dino_head()
    magnitude = head.prototypes.parametrizations.weight.original0
    assert torch.equal(magnitude, torch.ones_like(magnitude))
    assert not magnitude.requires_grad
    assert all(p is not magnitude for p in head.parameters() if p.requires_grad)
    row_norms = head.prototypes.weight.norm(dim=1)
    torch.testing.assert_close(row_norms, torch.ones(50))
    # A training step leaves the magnitude at 1 and the rows unit-norm.
    optimizer = torch.optim.SGD([p for p in head.parameters() if p.requires_grad], lr=1.0)
    torch.manual_seed(1)
    head(torch.randn(5, 16)).pow(2).sum().backward()
    optimizer.step()
    assert torch.equal(magnitude, torch.ones_like(magnitude))
    torch.testing.assert_close(head.prototypes.weight.norm(dim=1), torch.ones(50))


def test_dino_head_logits_are_bounded() -> None:
    head = _dino_head()
    torch.manual_seed(2)
    logits = head(torch.randn(64, 16) * 100)
    assert logits.abs().max() <= 1 + 1e-5


def test_dino_head_gradients_flow_to_mlp() -> None:
    head = _dino_head()
    torch.manual_seed(3)
    head(torch.randn(5, 16)).pow(2).sum().backward()
    for name, parameter in head.mlp.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    direction = head.prototypes.parametrizations.weight.original1
    assert direction.grad is not None and direction.grad.abs().sum() > 0


def test_dino_head_bad_num_layers_raises() -> None:
    with pytest.raises(ValueError, match="num_layers"):
        DINOHead(16, out_dim=10, num_layers=0)
