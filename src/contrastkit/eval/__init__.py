"""Evaluation protocols on frozen features: weighted kNN and the linear probe."""

from contrastkit.eval.fractions import stratified_folds, stratified_fraction, stratified_split
from contrastkit.eval.knn import knn_accuracy, knn_scores
from contrastkit.eval.linear import ProbeResult, linear_probe
from contrastkit.eval.logistic import LinearClassifier, fit_logistic_regression

__all__ = [
    "LinearClassifier",
    "ProbeResult",
    "fit_logistic_regression",
    "knn_accuracy",
    "knn_scores",
    "linear_probe",
    "stratified_folds",
    "stratified_fraction",
    "stratified_split",
]
