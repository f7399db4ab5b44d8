"""Per-modality glue between a recipe and a run: which data, which model, which evaluation.

Each registered method names its modality (:class:`contrastkit.registry.MethodEntry`);
:func:`pipeline_for` returns the :class:`Pipeline` that builds and evaluates it.
"""

from __future__ import annotations

from contrastkit.pipelines.base import Pipeline, TrainingSetup
from contrastkit.pipelines.image import ImagePipeline
from contrastkit.pipelines.image_text import ImageTextPipeline
from contrastkit.pipelines.text import TextPipeline
from contrastkit.registry import METHODS

PIPELINES: dict[str, Pipeline] = {
    "image": ImagePipeline(),
    "image_text": ImageTextPipeline(),
    "text": TextPipeline(),
}


def pipeline_for(method: str) -> Pipeline:
    """The pipeline of a registered method's modality.

    Example:
        >>> type(pipeline_for("simclr")).__name__
        'ImagePipeline'
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(sorted(METHODS))}")
    return PIPELINES[METHODS[method].modality]


__all__ = ["PIPELINES", "Pipeline", "TrainingSetup", "pipeline_for"]
