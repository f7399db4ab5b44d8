"""Evaluation: kNN, linear probe, STS, retrieval, zero-shot, and training-health metrics."""

from contrastkit.eval.embedding_stats import (
    alignment,
    effective_rank,
    embedding_std,
    positive_negative_similarity,
    uniformity,
)
from contrastkit.eval.fractions import stratified_folds, stratified_fraction, stratified_split
from contrastkit.eval.health import CollapseWarning, HealthMonitor, health_metrics
from contrastkit.eval.knn import knn_accuracy, knn_scores
from contrastkit.eval.linear import ProbeResult, linear_probe
from contrastkit.eval.logistic import LinearClassifier, fit_logistic_regression
from contrastkit.eval.retrieval import image_text_retrieval, retrieval_evaluate, retrieval_metrics
from contrastkit.eval.sts import read_sts_benchmark, read_sts_tsv, sts_correlation, sts_evaluate
from contrastkit.eval.zero_shot import (
    CIFAR_TEMPLATES,
    DEFAULT_TEMPLATES,
    zero_shot_accuracy,
    zero_shot_classifier,
    zero_shot_evaluate,
)

__all__ = [
    "CIFAR_TEMPLATES",
    "DEFAULT_TEMPLATES",
    "CollapseWarning",
    "HealthMonitor",
    "LinearClassifier",
    "ProbeResult",
    "alignment",
    "effective_rank",
    "embedding_std",
    "fit_logistic_regression",
    "health_metrics",
    "image_text_retrieval",
    "knn_accuracy",
    "knn_scores",
    "linear_probe",
    "positive_negative_similarity",
    "read_sts_benchmark",
    "read_sts_tsv",
    "retrieval_evaluate",
    "retrieval_metrics",
    "stratified_folds",
    "stratified_fraction",
    "stratified_split",
    "sts_correlation",
    "sts_evaluate",
    "uniformity",
    "zero_shot_accuracy",
    "zero_shot_classifier",
    "zero_shot_evaluate",
]
