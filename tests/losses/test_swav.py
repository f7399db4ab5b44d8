"""Tests for swav / SwAVLoss, sinkhorn_knopp and swapped_prediction, with loop references."""

import itertools
import math

import loss_checks as lc
import pytest
import torch
from loss_checks import log_softmax, randn

from contrastkit.losses import SwAVLoss, sinkhorn_knopp, swapped_prediction, swav


def _rows(x) -> list[list[float]]:
    return x if isinstance(x, list) else x.tolist()


def reference_sinkhorn(scores, iters: int, epsilon: float) -> list[list[float]]:
    """The spec's Sinkhorn-Knopp, with Q (K x B) as nested lists; returns q = Q.T (B x K)."""
    S = scores.tolist()
    B, K = len(S), len(S[0])
    Q = [[math.exp(S[b][k] / epsilon) for b in range(B)] for k in range(K)]
    total = sum(Q[k][b] for k in range(K) for b in range(B))
    Q = [[Q[k][b] / total for b in range(B)] for k in range(K)]
    for _ in range(iters):
        for k in range(K):  # rows: each prototype gets mass 1/K
            row = sum(Q[k][b] for b in range(B))
            for b in range(B):
                Q[k][b] = Q[k][b] / row / K
        for b in range(B):  # columns: each sample gets mass 1/B
            col = sum(Q[k][b] for k in range(K))
            for k in range(K):
                Q[k][b] = Q[k][b] / col / B
    return [[Q[k][b] * B for k in range(K)] for b in range(B)]


def reference_swapped(scores_a, scores_b, codes_a, codes_b, t: float) -> float:
    """-(1/2) mean_b sum_k [q_a log_softmax(s_b/t) + q_b log_softmax(s_a/t)], as loops."""
    SA, SB, QA, QB = (_rows(x) for x in (scores_a, scores_b, codes_a, codes_b))
    B, K = len(SA), len(SA[0])
    total = 0.0
    for b in range(B):
        ls_b, ls_a = log_softmax(SB[b], t), log_softmax(SA[b], t)
        total += sum(QA[b][k] * ls_b[k] for k in range(K))
        total += sum(QB[b][k] * ls_a[k] for k in range(K))
    return -0.5 * total / B


def reference_swav(scores_a, scores_b, t=0.1, iters=3, epsilon=0.05) -> float:
    q_a = reference_sinkhorn(scores_a, iters, epsilon)
    q_b = reference_sinkhorn(scores_b, iters, epsilon)
    return reference_swapped(scores_a, scores_b, q_a, q_b, t)


# ---------------------------------------------------------------- sinkhorn_knopp


@pytest.mark.parametrize(
    ("B", "K", "iters", "eps"), [(2, 3, 1, 0.05), (6, 4, 3, 0.05), (16, 10, 5, 0.5), (5, 8, 2, 1.0)]
)
def test_sinkhorn_matches_reference(B, K, iters, eps):
    scores = 0.5 * randn(B, K, seed=B * K)
    q = sinkhorn_knopp(scores, iters=iters, epsilon=eps)
    lc.close(q, reference_sinkhorn(scores, iters, eps), atol=1e-10)


def test_sinkhorn_defaults():
    scores = 0.5 * randn(6, 4, seed=1)
    lc.close(sinkhorn_knopp(scores), reference_sinkhorn(scores, 3, 0.05), atol=1e-10)


@pytest.mark.parametrize(("B", "K"), [(8, 4), (5, 7), (12, 12)])
def test_sinkhorn_marginals(B, K):
    scores = randn(B, K, seed=B + K)
    # the last step normalizes per sample: each row of q sums to 1 (exactly, up to rounding)
    for iters in (1, 3, 10):
        q = sinkhorn_knopp(scores, iters=iters, epsilon=0.1)
        assert q.shape == (B, K)
        assert (q >= 0).all()
        lc.close(q.sum(dim=1), torch.ones(B), rtol=0.0, atol=1e-12)
    # prototype marginals (column sums of q) approach B/K as iterations increase
    errors = []
    for iters in (1, 2, 4, 8, 16):
        q = sinkhorn_knopp(scores, iters=iters, epsilon=0.5)
        errors.append((q.sum(dim=0) - B / K).abs().sum().item())
    assert all(e1 < e0 for e0, e1 in itertools.pairwise(errors)), errors
    q = sinkhorn_knopp(scores, iters=300, epsilon=0.5)
    lc.close(q.sum(dim=0), torch.full((K,), B / K), rtol=0.0, atol=1e-6)


def test_sinkhorn_uniform_scores_give_uniform_codes():
    q = sinkhorn_knopp(torch.zeros(6, 3, dtype=torch.float64), iters=3, epsilon=0.05)
    lc.close(q, torch.full((6, 3), 1.0 / 3.0), atol=1e-12)


def test_sinkhorn_does_not_modify_input():
    scores = randn(5, 4, seed=2)
    before = scores.clone()
    sinkhorn_knopp(scores)
    assert torch.equal(scores, before)


# ---------------------------------------------------------------- swapped_prediction


@pytest.mark.parametrize(("B", "K", "t"), [(2, 3, 0.1), (7, 5, 0.5), (16, 32, 1.0)])
def test_swapped_prediction_matches_reference(B, K, t):
    s_a, s_b = randn(B, K, seed=B), randn(B, K, seed=K)
    c_a = torch.softmax(randn(B, K, seed=3), dim=1)
    c_b = torch.softmax(randn(B, K, seed=4), dim=1)
    out = swapped_prediction(s_a, s_b, c_a, c_b, temperature=t)
    assert out.dim() == 0
    lc.close(out, reference_swapped(s_a, s_b, c_a, c_b, t))


def test_swapped_prediction_one_hot_codes_closed_form():
    # scores: s at one index, 0 elsewhere -> log_softmax at that index = s/t - log(e^{s/t} + K-1)
    K, t, s = 4, 0.5, 1.0
    eye = torch.eye(K, dtype=torch.float64)
    s_a = s * eye[[0, 1, 2]]
    s_b = s * eye[[3, 2, 1]]
    hit = s / t - math.log(math.exp(s / t) + K - 1)
    miss = -math.log(math.exp(s / t) + K - 1)
    # codes_a point where scores_b peaks (hit); codes_b point to an index where scores_a is 0
    c_a = eye[[3, 2, 1]]
    c_b = eye[[1, 2, 0]]
    out = swapped_prediction(s_a, s_b, c_a, c_b, temperature=t)
    lc.close(out, -0.5 * (hit + miss))
    # all-zero scores: the cross-entropy of any one-hot code is log K
    z = torch.zeros(3, K, dtype=torch.float64)
    lc.close(swapped_prediction(z, z, c_a, c_b, temperature=t), math.log(K))


def test_swapped_prediction_default_temperature():
    s_a, s_b = randn(4, 3, seed=5), randn(4, 3, seed=6)
    c = torch.full((4, 3), 1.0 / 3.0, dtype=torch.float64)
    lc.close(swapped_prediction(s_a, s_b, c, c), reference_swapped(s_a, s_b, c, c, 0.1))


# ---------------------------------------------------------------- swav


@pytest.mark.parametrize(
    ("B", "K", "t", "iters", "eps"),
    [(2, 3, 0.1, 3, 0.05), (8, 4, 0.1, 3, 0.05), (10, 16, 0.2, 1, 0.3), (5, 6, 1.0, 7, 0.1)],
)
def test_swav_matches_reference(B, K, t, iters, eps):
    s_a, s_b = 0.5 * randn(B, K, seed=B), 0.5 * randn(B, K, seed=10 + K)
    ref = reference_swav(s_a, s_b, t, iters, eps)
    out = swav(s_a, s_b, temperature=t, sinkhorn_iters=iters, epsilon=eps)
    assert out.dim() == 0
    lc.close(out, ref)
    module = SwAVLoss(temperature=t, sinkhorn_iters=iters, epsilon=eps)
    lc.close(module(s_a, s_b), ref)


def test_swav_defaults():
    s_a, s_b = 0.5 * randn(6, 5, seed=1), 0.5 * randn(6, 5, seed=2)
    ref = reference_swav(s_a, s_b)
    lc.close(swav(s_a, s_b), ref)
    lc.close(SwAVLoss()(s_a, s_b), ref)


def test_swav_uniform_scores_is_log_k():
    z = torch.zeros(4, 6, dtype=torch.float64)
    lc.close(swav(z, z.clone()), math.log(6))


def test_swav_codes_carry_no_gradient():
    s_a = (0.5 * randn(6, 4, seed=3)).requires_grad_()
    s_b = (0.5 * randn(6, 4, seed=4)).requires_grad_()
    g_swav = torch.autograd.grad(swav(s_a, s_b), (s_a, s_b))
    q_a = sinkhorn_knopp(s_a.detach()).detach()
    q_b = sinkhorn_knopp(s_b.detach()).detach()
    g_fixed = torch.autograd.grad(swapped_prediction(s_a, s_b, q_a, q_b), (s_a, s_b))
    for g1, g2 in zip(g_swav, g_fixed, strict=True):
        torch.testing.assert_close(g1, g2, rtol=1e-6, atol=1e-10)


# ---------------------------------------------------------------- descent


def test_descent():
    s_a = torch.nn.Parameter(0.5 * randn(16, 8, seed=5))
    s_b = torch.nn.Parameter(0.5 * randn(16, 8, seed=6))
    lc.assert_descends(lambda: swav(s_a, s_b), [s_a, s_b])


# ---------------------------------------------------------------- gradients


def test_gradcheck_swapped_prediction():
    s_a, s_b = randn(3, 4, seed=7), randn(3, 4, seed=8)
    c_a = torch.softmax(randn(3, 4, seed=9), dim=1)
    c_b = torch.softmax(randn(3, 4, seed=10), dim=1)
    lc.assert_gradcheck(lambda a, b: swapped_prediction(a, b, c_a, c_b, temperature=0.5), s_a, s_b)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("module", [False, True])
def test_mismatched_shapes_name_argument(module):
    fn = SwAVLoss() if module else swav
    lc.assert_mismatch_names(fn, "scores_b")


def test_swapped_prediction_mismatched_shapes():
    s = randn(4, 6, seed=0)
    c = torch.full((4, 6), 1.0 / 6.0, dtype=torch.float64)
    lc.assert_raises_naming(
        lambda: swapped_prediction(s, randn(4, 5, seed=1), c, c), "scores_b", (4, 5)
    )
    lc.assert_raises_naming(
        lambda: swapped_prediction(s, s, c, torch.full((4, 5), 0.2, dtype=torch.float64)),
        "codes_b",
        (4, 5),
    )


def test_wrong_ndim_and_dtype_name_argument():
    lc.assert_raises_naming(
        lambda: swav(randn(4, 6, 2, seed=0), randn(4, 6, seed=1)), "scores_a", (4, 6, 2)
    )
    lc.assert_raises_naming(
        lambda: swav(randn(4, 6, seed=0), torch.ones(4, 6, dtype=torch.long)), "scores_b"
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("which", ["scores_a", "scores_b"])
def test_non_finite(bad, which):
    s_a, s_b = randn(4, 6, seed=0), randn(4, 6, seed=1)
    (s_a if which == "scores_a" else s_b)[1, 1] = bad
    lc.assert_raises_naming(lambda: swav(s_a, s_b), which, match="finite")
    with pytest.raises(ValueError, match="finite"):
        SwAVLoss()(s_a, s_b)


def test_sinkhorn_non_finite():
    scores = randn(4, 6, seed=0)
    scores[0, 0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        sinkhorn_knopp(scores)


@pytest.mark.parametrize("value", [0.0, -0.1])
def test_non_positive_temperature_and_epsilon(value):
    s_a, s_b = randn(4, 6, seed=0), randn(4, 6, seed=1)
    c = torch.full((4, 6), 1.0 / 6.0, dtype=torch.float64)
    with pytest.raises(ValueError, match="temperature"):
        swav(s_a, s_b, temperature=value)
    with pytest.raises(ValueError, match="temperature"):
        SwAVLoss(temperature=value)
    with pytest.raises(ValueError, match="temperature"):
        swapped_prediction(s_a, s_b, c, c, temperature=value)
    with pytest.raises(ValueError, match="epsilon"):
        swav(s_a, s_b, epsilon=value)
    with pytest.raises(ValueError, match="epsilon"):
        SwAVLoss(epsilon=value)
    with pytest.raises(ValueError, match="epsilon"):
        sinkhorn_knopp(s_a, epsilon=value)


@pytest.mark.parametrize("iters", [0, -1])
def test_sinkhorn_iters_below_one(iters):
    s_a, s_b = randn(4, 6, seed=0), randn(4, 6, seed=1)
    with pytest.raises(ValueError, match="sinkhorn_iters"):
        swav(s_a, s_b, sinkhorn_iters=iters)
    with pytest.raises(ValueError, match="sinkhorn_iters"):
        SwAVLoss(sinkhorn_iters=iters)(s_a, s_b)
    with pytest.raises(ValueError, match="iters"):
        sinkhorn_knopp(s_a, iters=iters)


def test_batch_of_one():
    s_a, s_b = randn(1, 6, seed=0), randn(1, 6, seed=1)
    with pytest.raises(ValueError, match="batch of 1 is too small: swav"):
        swav(s_a, s_b)
    with pytest.raises(ValueError, match="batch of 1 is too small: swav"):
        SwAVLoss()(s_a, s_b)
    with pytest.raises(ValueError, match="batch of 1 is too small"):
        sinkhorn_knopp(s_a)
