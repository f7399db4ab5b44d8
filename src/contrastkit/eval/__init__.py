"""Evaluation protocols on frozen features."""

from contrastkit.eval.knn import knn_accuracy, knn_scores

__all__ = ["knn_accuracy", "knn_scores"]
