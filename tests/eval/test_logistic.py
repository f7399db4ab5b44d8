"""Logistic regression fit against scikit-learn's, and the SGD solver against L-BFGS."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from contrastkit.eval import fit_logistic_regression


def blobs(n: int, d: int, classes: int, spread: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    return rng.normal(size=(n, d)) + spread * np.eye(classes, d)[labels], labels


@pytest.mark.parametrize("weight_decay", [1e-3, 1e-2, 1e-1])
def test_matches_sklearn_coefficients(weight_decay: float) -> None:
    # Our objective is mean(logloss) + wd/2 ||W||^2, sklearn's 0.5 ||W||^2 + C sum(logloss):
    # dividing sklearn's by C * n gives ours with wd = 1 / (C * n).
    features, labels = blobs(300, 6, 4, 1.5, seed=0)
    ours = fit_logistic_regression(
        torch.tensor(features), torch.tensor(labels), num_classes=4,
        weight_decay=weight_decay, max_iter=500, tolerance=1e-7,
    )  # fmt: skip
    reference = LogisticRegression(C=1 / (300 * weight_decay), tol=1e-10, max_iter=10_000)
    reference.fit(features, labels)
    np.testing.assert_allclose(ours.weight.numpy(), reference.coef_, atol=1e-3)
    np.testing.assert_allclose(ours.bias.numpy(), reference.intercept_, atol=1e-3)
    assert ours.weight.dtype == torch.float64


def test_sgd_solver_reaches_the_lbfgs_objective() -> None:
    features, labels = blobs(2000, 16, 5, 2.0, seed=1)
    x, y = torch.tensor(features, dtype=torch.float32), torch.tensor(labels)
    options = {"num_classes": 5, "weight_decay": 1e-3}
    exact = fit_logistic_regression(x, y, **options)
    approx = fit_logistic_regression(
        x, y, solver="sgd", batch_size=128, learning_rate=0.03, **options
    )

    def objective(model: object) -> float:
        logits = model.logits(x)  # type: ignore[attr-defined]
        penalty = 0.5e-3 * model.weight.pow(2).sum()  # type: ignore[attr-defined]
        return float(torch.nn.functional.cross_entropy(logits, y) + penalty)

    assert objective(approx) < objective(exact) + 1e-2
    assert abs(approx.accuracy(x, y) - exact.accuracy(x, y)) < 0.01


@pytest.mark.parametrize(
    ("option", "value"),
    [("weight_decay", -1.0), ("solver", "adam"), ("max_iter", 0), ("epochs", 0),
     ("batch_size", 0), ("learning_rate", 0.0)],
)  # fmt: skip
def test_bad_options(option: str, value: object) -> None:
    kwargs: dict[str, object] = {"num_classes": 2, "weight_decay": 0.0, option: value}
    with pytest.raises(ValueError, match=option):
        fit_logistic_regression(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]), **kwargs)  # type: ignore[arg-type]


def test_bad_data() -> None:
    with pytest.raises(ValueError, match="labels"):
        fit_logistic_regression(
            torch.randn(4, 2), torch.tensor([0, 1]), num_classes=2, weight_decay=0
        )
    with pytest.raises(ValueError, match="num_classes"):
        fit_logistic_regression(
            torch.randn(2, 2), torch.tensor([0, 2]), num_classes=2, weight_decay=0
        )
