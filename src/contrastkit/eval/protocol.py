"""What an evaluation protocol is: a registered object that turns a trained run into records.

An :class:`EvalProtocol` has a name, the modalities it applies to, its parameters (a frozen
dataclass whose fields are recipe keys, each with a default and a comment), a ``run`` function
and the table cells its record prints as. ``run(context, params)`` gets the modality's
evaluation context, the object that hands it features of the run's data (see the context
protocols below; the modality packages implement them, caching what they decode), and returns
records ``{"protocol": name, "params": {...}, "metrics": {...}}``.

A new protocol is one file (its function and its ``EvalProtocol``) plus one line in
:mod:`contrastkit.registry`; ``contrastkit eval --protocol NAME``, the end of ``contrastkit
train`` and the report then use it with no other file touched. Example::

    @dataclass(frozen=True)
    class CentroidParams:
        centroid_metric: str = "cosine"  # how test features are compared to class centroids

    def nearest_centroid(context: LabelledFeatures, params: CentroidParams) -> list[dict]:
        train, train_labels = context.labelled_features("train")
        ...
        return [{"protocol": "centroid", "params": {...}, "metrics": {"top1": accuracy}}]

    CENTROID = EvalProtocol("centroid", ("image",), nearest_centroid, CentroidParams)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

from torch import Tensor

Record = dict[str, Any]


@dataclass(frozen=True)
class NoParams:
    """The parameters of a protocol that takes none."""


def _default_cells(record: Record) -> list[tuple[str, str]]:
    """One column per numeric metric (the first four), named after the protocol."""
    numbers = [(k, v) for k, v in record["metrics"].items() if isinstance(v, int | float)]
    if not numbers:
        return [(record["protocol"], json.dumps(record["metrics"])[:40])]
    return [(f"{record['protocol']} {key}", f"{value:.4f}") for key, value in numbers[:4]]


@dataclass(frozen=True)
class EvalProtocol:
    """A registered evaluation protocol.

    Attributes:
        name: what recipes (``protocols = [...]``) and ``contrastkit eval --protocol`` call it.
        modalities: the modalities whose runs it evaluates (``"image"``, ``"text"``, ...).
        run: ``run(context, params) -> list of records``; ``context`` is the modality's
            evaluation context (:class:`LabelledFeatures`, :class:`SentenceEncoder`,
            :class:`ImageTextEmbedder`).
        params: a frozen dataclass; its fields are recipe keys (validated in its
            ``__post_init__``), so a bad value fails before any training.
        cells: ``cells(record) -> [(column, value), ...]``, the record in the results table.
        data_key: the parameter ``contrastkit eval --data`` replaces (None: no such option).
        record_names: other ``"protocol"`` values its records carry (older records).
    """

    name: str
    modalities: tuple[str, ...]
    run: Callable[[Any, Any], list[Record]]
    params: type = NoParams
    cells: Callable[[Record], list[tuple[str, str]]] = _default_cells
    data_key: str | None = None
    record_names: tuple[str, ...] = ()

    def recipe_keys(self) -> list[str]:
        """The recipe keys of its parameters."""
        return [f.name for f in fields(self.params)]


class LabelledFeatures(Protocol):
    """The image modality's evaluation context: frozen features of labelled splits."""

    def labelled_features(self, split: str) -> tuple[Tensor, Tensor]:
        """``(features (N, D), labels (N,))`` of ``"train"`` or ``"test"`` (the recipe's
        splits), computed once per run object."""
        ...


class SentenceEncoder(Protocol):
    """The text modality's evaluation context: the trained sentence encoder."""

    def encode_texts(self, texts: Sequence[str]) -> Tensor:
        """(N, D) sentence features, in order."""
        ...


class ImageTextEmbedder(Protocol):
    """The image-text modality's evaluation context: both towers, projected."""

    def test_pairs(self) -> tuple[Tensor, Tensor, Tensor, str]:
        """Image embeddings (N, D), caption embeddings (M, D), the (M,) image index of each
        caption and the test split's name."""
        ...

    def labelled_images(self, dataset: str, limit: int) -> tuple[Tensor, Tensor, list[str], str]:
        """Image embeddings, labels and class names of ``dataset``'s test split (a seeded
        class-stratified subset of ``limit`` images when 0 < limit < N) and a line naming it."""
        ...

    def embed_prompts(self, prompts: Sequence[str]) -> Tensor:
        """Projected text embeddings of class-name prompts."""
        ...
