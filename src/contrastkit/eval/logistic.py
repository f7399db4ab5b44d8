"""Multinomial logistic regression on fixed features, fitted with L-BFGS or mini-batch Adam.

Both solvers minimize the same objective,

    mean_i cross_entropy(x_i @ weight.T + bias, y_i) + weight_decay / 2 * ||weight||^2,

with the bias not penalized. That is scikit-learn's ``LogisticRegression`` objective
``0.5 * ||w||^2 + C * sum_i logloss_i`` divided by ``C * n``, so ``C = 1 / (n * weight_decay)``
(``weight_decay=0`` is ``penalty=None``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

Solver = Literal["lbfgs", "sgd"]


@dataclass(frozen=True)
class LinearClassifier:
    """Weights of a fitted linear classifier: ``logits = features @ weight.T + bias``.

    Attributes:
        weight: (C, D) class weights, like ``nn.Linear.weight`` and sklearn's ``coef_``.
        bias: (C,) class offsets, like sklearn's ``intercept_``.
    """

    weight: Tensor
    bias: Tensor

    def logits(self, features: Tensor) -> Tensor:
        """(N, C) class scores of (N, D) ``features``."""
        return F.linear(features.to(self.weight), self.weight, self.bias)

    def accuracy(self, features: Tensor, labels: Tensor) -> float:
        """Top-1 accuracy on (N, D) ``features`` with (N,) ``labels``, as a float."""
        predicted = self.logits(features).argmax(dim=1)
        return float((predicted == labels.to(predicted.device)).float().mean())


def check_fit_options(
    *, solver: str, max_iter: int, epochs: int, batch_size: int, learning_rate: float
) -> None:
    """Raise ``ValueError`` naming the first invalid solver option."""
    if solver not in ("lbfgs", "sgd"):
        raise ValueError(f"solver must be 'lbfgs' or 'sgd', got {solver!r}")
    for name, value in (("max_iter", max_iter), ("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not learning_rate > 0 or not math.isfinite(learning_rate):
        raise ValueError(f"learning_rate must be a finite number > 0, got {learning_rate!r}")


def _objective(
    classifier: LinearClassifier, features: Tensor, labels: Tensor, weight_decay: float
) -> Tensor:
    loss = F.cross_entropy(classifier.logits(features), labels)
    return loss + 0.5 * weight_decay * classifier.weight.pow(2).sum()


def fit_logistic_regression(
    features: Tensor,
    labels: Tensor,
    *,
    num_classes: int,
    weight_decay: float,
    solver: Solver = "lbfgs",
    max_iter: int = 100,
    epochs: int = 30,
    batch_size: int = 1024,
    learning_rate: float = 3e-3,
    seed: int = 0,
    init: LinearClassifier | None = None,
    tolerance: float = 1e-5,
) -> LinearClassifier:
    """Fit a multinomial logistic regression (see the module docstring for the objective).

    ``"lbfgs"`` runs full-batch L-BFGS with a strong-Wolfe line search for at most ``max_iter``
    iterations, or until the largest gradient entry is below ``tolerance`` (the right choice
    while (N, D) fits in memory: it converges in tens of iterations and has no learning rate;
    sklearn's default ``tol`` on the same mean objective is 1e-4). ``"sgd"`` runs ``epochs``
    of mini-batch Adam with a cosine-decayed ``learning_rate``, shuffled by ``seed``, for
    feature sets too large for full-batch steps. Computation runs on the device of
    ``features``, in float64 if they are float64, else in float32.

    Args:
        features: (N, D) features, ideally standardized.
        labels: (N,) int64 labels in ``[0, num_classes)``, same device as ``features``.
        num_classes: C, the number of outputs.
        weight_decay: L2 coefficient on ``weight`` (not on ``bias``), >= 0.
        solver: ``"lbfgs"`` or ``"sgd"``.
        max_iter: L-BFGS iterations.
        epochs: passes over the data for ``"sgd"``.
        batch_size: mini-batch size for ``"sgd"``.
        learning_rate: initial Adam learning rate for ``"sgd"``.
        seed: shuffling seed for ``"sgd"``.
        init: starting point (a warm start); zeros if None.
        tolerance: L-BFGS stopping threshold on the largest gradient entry.

    Returns:
        The fitted :class:`LinearClassifier`, detached, on the device of ``features``.

    Example:
        >>> import torch
        >>> features = torch.tensor([[-2.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
        >>> labels = torch.tensor([0, 0, 1, 1])
        >>> model = fit_logistic_regression(features, labels, num_classes=2, weight_decay=1e-2)
        >>> model.accuracy(features, labels)
        1.0
    """
    check_fit_options(
        solver=solver, max_iter=max_iter, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate,
    )  # fmt: skip
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance!r}")
    if weight_decay < 0 or not math.isfinite(weight_decay):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    if features.ndim != 2 or labels.shape != (features.shape[0],) or len(labels) == 0:
        raise ValueError(
            f"features must be (N, D) and labels (N,) with N >= 1, got "
            f"{tuple(features.shape)} and {tuple(labels.shape)}"
        )
    if int(labels.min()) < 0 or int(labels.max()) >= num_classes:
        raise ValueError(f"labels must lie in [0, num_classes={num_classes})")
    dtype = torch.float64 if features.dtype == torch.float64 else torch.float32
    features = features.detach().to(dtype)
    labels = labels.to(features.device, torch.long)
    if init is None:
        weight = features.new_zeros(num_classes, features.shape[1])
        bias = features.new_zeros(num_classes)
    else:
        weight, bias = init.weight.to(features).clone(), init.bias.to(features).clone()
    classifier = LinearClassifier(weight.requires_grad_(), bias.requires_grad_())
    parameters = [classifier.weight, classifier.bias]
    with torch.enable_grad():
        if solver == "lbfgs":
            _run_lbfgs(classifier, parameters, features, labels, weight_decay, max_iter, tolerance)
        else:
            _run_adam(
                classifier,
                parameters,
                features,
                labels,
                weight_decay,
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                seed=seed,
            )
    return LinearClassifier(classifier.weight.detach(), classifier.bias.detach())


def _run_lbfgs(
    classifier: LinearClassifier,
    parameters: list[Tensor],
    features: Tensor,
    labels: Tensor,
    weight_decay: float,
    max_iter: int,
    tolerance: float,
) -> None:
    optimizer = torch.optim.LBFGS(
        parameters,
        lr=1.0,
        max_iter=max_iter,
        history_size=10,
        tolerance_grad=tolerance,
        tolerance_change=1e-9,
        line_search_fn="strong_wolfe",
    )

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = _objective(classifier, features, labels, weight_decay)
        loss.backward()
        return loss

    optimizer.step(closure)


def _run_adam(
    classifier: LinearClassifier,
    parameters: list[Tensor],
    features: Tensor,
    labels: Tensor,
    weight_decay: float,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> None:
    optimizer = torch.optim.Adam(parameters, lr=learning_rate)
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = math.ceil(len(features) / batch_size)
    total_steps, step = epochs * steps_per_epoch, 0
    for _ in range(epochs):
        order = torch.randperm(len(features), generator=generator).to(features.device)
        for batch in order.split(batch_size):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate * 0.5 * (1 + math.cos(math.pi * step / total_steps))
            optimizer.zero_grad()
            _objective(classifier, features[batch], labels[batch], weight_decay).backward()
            optimizer.step()
            step += 1
