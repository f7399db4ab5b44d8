"""Linear probe on frozen features, with label fractions and several seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor

from contrastkit.eval.fractions import stratified_fraction
from contrastkit.eval.logistic import (
    LinearClassifier,
    Solver,
    check_fit_options,
    fit_logistic_regression,
)
from contrastkit.eval.protocol import EvalProtocol, LabelledFeatures, Record
from contrastkit.eval.selection import select_weight_decay
from contrastkit.types.values import check_list, check_number

_SOLVER_OPTIONS = {"lbfgs": ("max_iter",), "sgd": ("epochs", "batch_size", "learning_rate")}


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of :func:`linear_probe`; accuracies are fractions in [0, 1].

    Attributes:
        top1_mean: mean test top-1 accuracy over seeds.
        top1_std: population standard deviation (``numpy.std``, ddof=0) over seeds.
        top1_per_seed: test top-1 accuracy of each seed, in the order of ``parameters["seeds"]``.
        weight_decay_per_seed: the weight decay each seed selected.
        selection_per_seed: how it was selected: ``"holdout"``, ``"cross_validation"``,
            ``"train_fit"`` or ``"none"`` (a single candidate); see :func:`linear_probe`.
        num_labelled_per_seed: size of each seed's labelled subset.
        parameters: the protocol's parameters and data sizes, for the JSON record.
    """

    top1_mean: float
    top1_std: float
    top1_per_seed: tuple[float, ...]
    weight_decay_per_seed: tuple[float, ...]
    selection_per_seed: tuple[str, ...]
    num_labelled_per_seed: tuple[int, ...]
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (plain floats, ints, strings and lists) tagged with the protocol."""
        record = {"protocol": "linear_probe", **asdict(self)}
        return {key: list(v) if isinstance(v, tuple) else v for key, v in record.items()}


def linear_probe(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    test_labels: Tensor,
    *,
    label_fraction: float = 1.0,
    seeds: Sequence[int] = (0, 1, 2),
    weight_decays: Sequence[float] = (0.0, 1e-5, 1e-4, 1e-3, 1e-2),
    val_fraction: float = 0.2,
    num_folds: int = 5,
    solver: Solver = "lbfgs",
    max_iter: int = 100,
    epochs: int = 30,
    batch_size: int = 1024,
    learning_rate: float = 3e-3,
) -> ProbeResult:
    """Test top-1 of a logistic regression on frozen features, over seeds and label fractions.

    Features are standardized with the mean and (population) std of all ``train_features``
    (constant columns are only centred). For each seed:

    1. take a class-stratified ``label_fraction`` of the training set
       (:func:`~contrastkit.eval.fractions.stratified_fraction`, at least one sample per class);
    2. choose the weight decay from ``weight_decays`` by validation accuracy (ties: lower
       validation cross-entropy). Normally on a stratified ``val_fraction`` holdout of the
       subset. If some class is too small to be represented in that holdout (e.g. 1% labels),
       by ``num_folds``-fold stratified cross-validation over the subset instead, with
       single-sample classes kept in training. If every class has a single sample, nothing can
       be held out: the largest weight decay that still fits the subset best is chosen;
    3. refit on the whole subset with that weight decay (from zeros) and report test top-1.

    The classifier is a multinomial logistic regression minimizing mean cross-entropy plus
    ``weight_decay / 2 * ||W||^2`` (sklearn's ``C = 1 / (n * weight_decay)``), fitted by
    full-batch L-BFGS (``solver="lbfgs"``) or mini-batch Adam (``solver="sgd"``, for feature
    sets too large for full-batch steps); see
    :func:`~contrastkit.eval.logistic.fit_logistic_regression`. Weight decays are swept from
    the largest down, each warm-started from the previous. Everything runs on the device of
    ``train_features``; the result holds plain Python numbers.

    Args:
        train_features: (N, D) frozen training features, any device and float dtype.
        train_labels: (N,) integer labels.
        test_features: (M, D) frozen test features.
        test_labels: (M,) integer labels.
        label_fraction: share of each class labelled, in (0, 1] (0.01, 0.1, 1.0 in papers).
        seeds: one run per seed (subset, split, folds and SGD shuffling).
        weight_decays: candidate L2 coefficients, each >= 0.
        val_fraction: share of each class held out to select the weight decay, in (0, 1).
        num_folds: folds of the few-label cross-validation fallback, >= 2.
        solver: ``"lbfgs"`` or ``"sgd"``.
        max_iter: L-BFGS iterations per fit.
        epochs: passes over the data per fit for ``"sgd"``.
        batch_size: mini-batch size for ``"sgd"``.
        learning_rate: initial Adam learning rate for ``"sgd"`` (cosine-decayed to 0).

    Returns:
        A :class:`ProbeResult`; ``result.to_dict()`` goes straight into ``json.dumps``.

    Raises:
        ValueError: naming the argument, for bad shapes, labels or hyper-parameters.

    Example:
        >>> import torch
        >>> generator = torch.Generator().manual_seed(0)
        >>> labels = torch.arange(3).repeat(40)
        >>> features = torch.eye(3)[labels] * 5 + torch.randn(120, 3, generator=generator)
        >>> result = linear_probe(features, labels, features, labels, seeds=(0, 1))
        >>> result.top1_mean
        1.0
        >>> len(result.top1_per_seed)
        2
    """
    _check_inputs(train_features, train_labels, test_features, test_labels)
    seeds, weight_decays = _check_protocol(
        label_fraction, seeds, weight_decays, val_fraction, num_folds
    )
    check_fit_options(
        solver=solver, max_iter=max_iter, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate,
    )  # fmt: skip
    train, test = _standardize(train_features, test_features)
    y_train = train_labels.to(train.device, torch.long)
    y_test = test_labels.to(train.device, torch.long)
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    fit_options: dict[str, Any] = {
        "num_classes": num_classes,
        "solver": solver,
        "max_iter": max_iter,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
    }

    top1, chosen, selections, sizes = [], [], [], []
    refits: dict[tuple[bytes, float], LinearClassifier] = {}
    for seed in seeds:
        subset = stratified_fraction(y_train, label_fraction, seed=seed).to(train.device)
        features, labels = train[subset], y_train[subset]
        weight_decay, selection = select_weight_decay(
            features, labels, weight_decays, val_fraction=val_fraction, num_folds=num_folds,
            seed=seed, fit_options=fit_options,
        )  # fmt: skip
        # The refit starts from zeros, so an L-BFGS refit is a function of (subset, weight
        # decay); with label_fraction=1.0 every seed shares the subset and it is computed once.
        key = (subset.cpu().numpy().tobytes(), weight_decay)
        if solver == "sgd" or key not in refits:
            refits[key] = fit_logistic_regression(
                features, labels, weight_decay=weight_decay, seed=seed, **fit_options
            )
        top1.append(refits[key].accuracy(test, y_test))
        chosen.append(weight_decay)
        selections.append(selection)
        sizes.append(len(subset))

    mean = sum(top1) / len(top1)
    solver_options = {key: fit_options[key] for key in _SOLVER_OPTIONS[solver]}
    parameters: dict[str, Any] = {
        "label_fraction": float(label_fraction),
        "seeds": list(seeds),
        "weight_decays": list(weight_decays),
        "val_fraction": float(val_fraction),
        "num_folds": int(num_folds),
        "solver": solver,
        **solver_options,
        "standardize": "train mean and std",
        "num_train": len(y_train),
        "num_test": len(y_test),
        "num_classes": num_classes,
        "feature_dim": int(train.shape[1]),
    }
    return ProbeResult(
        top1_mean=mean,
        top1_std=math.sqrt(sum((value - mean) ** 2 for value in top1) / len(top1)),
        top1_per_seed=tuple(top1),
        weight_decay_per_seed=tuple(chosen),
        selection_per_seed=tuple(selections),
        num_labelled_per_seed=tuple(sizes),
        parameters=parameters,
    )


def _standardize(train_features: Tensor, test_features: Tensor) -> tuple[Tensor, Tensor]:
    dtype = torch.float64 if train_features.dtype == torch.float64 else torch.float32
    train = train_features.detach().to(dtype)
    test = test_features.detach().to(train.device, dtype)
    std, mean = torch.std_mean(train, dim=0, correction=0)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    return (train - mean) / std, (test - mean) / std


def _check_inputs(
    train_features: Tensor, train_labels: Tensor, test_features: Tensor, test_labels: Tensor
) -> None:
    for name, features in (("train_features", train_features), ("test_features", test_features)):
        if features.ndim != 2 or not features.is_floating_point() or features.numel() == 0:
            raise ValueError(
                f"{name} must be a non-empty (N, D) floating-point tensor, got shape "
                f"{tuple(features.shape)} and dtype {features.dtype}"
            )
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(
            f"train_features and test_features must have the same D, got "
            f"{train_features.shape[1]} and {test_features.shape[1]}"
        )
    for name, labels, features in (
        ("train_labels", train_labels, train_features),
        ("test_labels", test_labels, test_features),
    ):
        if labels.shape != (features.shape[0],) or labels.is_floating_point():
            raise ValueError(
                f"{name} must be an integer tensor of shape ({features.shape[0]},), got shape "
                f"{tuple(labels.shape)} and dtype {labels.dtype}"
            )
        if int(labels.min()) < 0:
            raise ValueError(f"{name} must be >= 0, got a minimum of {int(labels.min())}")


def _check_protocol(
    label_fraction: float,
    seeds: Sequence[int],
    weight_decays: Sequence[float],
    val_fraction: float,
    num_folds: int,
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    if isinstance(label_fraction, bool) or not 0.0 < float(label_fraction) <= 1.0:
        raise ValueError(f"label_fraction must be in (0, 1], got {label_fraction!r}")
    if len(seeds) == 0 or any(isinstance(s, bool) or int(s) != s for s in seeds):
        raise ValueError(f"seeds must be a non-empty sequence of integers, got {seeds!r}")
    if len(weight_decays) == 0 or any(
        not math.isfinite(float(wd)) or float(wd) < 0 for wd in weight_decays
    ):
        raise ValueError(
            f"weight_decays must be a non-empty sequence of finite numbers >= 0, got "
            f"{weight_decays!r}"
        )
    if isinstance(val_fraction, bool) or not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    if isinstance(num_folds, bool) or int(num_folds) != num_folds or num_folds < 2:
        raise ValueError(f"num_folds must be an integer >= 2, got {num_folds!r}")
    return tuple(int(s) for s in seeds), tuple(float(wd) for wd in weight_decays)


@dataclass(frozen=True)
class LinearParams:
    """Recipe keys of the ``linear`` protocol."""

    label_fractions: list[float] = field(default_factory=lambda: [1.0, 0.01])  # of train labels
    probe_seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  # repeats of each fraction

    def __post_init__(self) -> None:
        for fraction in check_list("label_fractions", self.label_fractions):
            check_number("label_fractions", fraction, minimum=0, maximum=1, open_minimum=True)
        for seed in check_list("probe_seeds", self.probe_seeds):
            check_number("probe_seeds", seed, integer=True)


def linear_protocol(context: LabelledFeatures, params: LinearParams) -> list[Record]:
    """One linear-probe record per label fraction: test top-1 mean and std over the seeds."""
    train, train_labels = context.labelled_features("train")
    test, test_labels = context.labelled_features("test")
    records: list[Record] = []
    for fraction in params.label_fractions:
        result = linear_probe(
            train,
            train_labels,
            test,
            test_labels,
            label_fraction=fraction,
            seeds=tuple(params.probe_seeds),
        )
        metrics: dict[str, Any] = {
            "top1": result.top1_mean,
            "top1_std": result.top1_std,
            "top1_per_seed": list(result.top1_per_seed),
            "weight_decay_per_seed": list(result.weight_decay_per_seed),
        }
        records.append({"protocol": "linear", "params": result.parameters, "metrics": metrics})
    return records


def _linear_cells(record: Record) -> list[tuple[str, str]]:
    fraction = record["params"].get("label_fraction", 1.0)
    metrics = record["metrics"]
    return [(f"linear {fraction:.0%} labels", f"{metrics['top1']:.4f} ± {metrics['top1_std']:.4f}")]


LINEAR = EvalProtocol(
    "linear",
    ("image",),
    linear_protocol,
    LinearParams,
    _linear_cells,
    record_names=("linear_probe",),
)
