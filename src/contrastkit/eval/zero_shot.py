"""Zero-shot classification from text prompts with prompt ensembling, for any two-tower model.

CLIP's protocol (Radford et al. 2021, arXiv 2103.00020, section 3.1.4): every class name is
written into one or more prompt templates ("a photo of a {}."), the text tower embeds the
prompts, and an image is assigned to the class whose (ensembled) prompt embedding has the
highest cosine similarity with the image embedding. Nothing is trained.

The model enters only through ``encode_text``: any callable that maps a list of strings to a
(len(list), D) tensor in the same space as the image embeddings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.eval.protocol import EvalProtocol, ImageTextEmbedder, Record
from contrastkit.types.values import check_number

EncodeText = Callable[[list[str]], Tensor]

DEFAULT_TEMPLATES: tuple[str, ...] = ("a photo of a {}.",)

# Our own short list in the spirit of CLIP's CIFAR-10 prompts (photo quality and size
# variations of "a photo of a {}.").
CIFAR_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a blurry photo of a {}.",
    "a low resolution photo of a {}.",
    "a low resolution photo of the {}.",
    "a pixelated photo of the {}.",
    "a close-up photo of a {}.",
    "a bright photo of a {}.",
    "a dark photo of the {}.",
    "a photo of the small {}.",
    "a photo of the big {}.",
    "a cropped photo of a {}.",
    "a jpeg photo of the {}.",
)


def _check_names(name: str, values: Sequence[str]) -> list[str]:
    if isinstance(values, str) or not all(isinstance(v, str) for v in values) or not values:
        raise ValueError(f"{name} must be a non-empty sequence of strings, got {values!r}")
    return list(values)


def _fill(template: str, class_name: str) -> str:
    if "{}" not in template:
        raise ValueError(f"templates: {template!r} has no '{{}}' placeholder for the class name")
    try:
        return template.format(class_name)
    except (IndexError, KeyError, ValueError) as error:
        raise ValueError(f"templates: cannot fill {template!r}: {error}") from error


def zero_shot_classifier(
    class_names: Sequence[str],
    encode_text: EncodeText,
    *,
    templates: Sequence[str] = DEFAULT_TEMPLATES,
) -> Tensor:
    """Class weights (C, D) from prompt embeddings, with CLIP's prompt ensembling.

    For class ``c`` with name ``n_c``: ``e_t = encode_text([t.format(n_c) for t in
    templates])`` (one call per class, T prompts), then
    ``w_c = normalize(mean_t normalize(e_t))``, i.e. L2-normalize every prompt embedding,
    average over the T templates, and L2-normalize the mean. With one template this is just
    the normalized prompt embedding.

    Args:
        class_names: the C class names, in label order (label ``i`` is ``class_names[i]``).
        encode_text: maps a list of T strings to a (T, D) float tensor (run under
            ``torch.no_grad()``).
        templates: prompt templates, each with one ``{}`` for the class name.

    Returns:
        (C, D) float32 tensor of unit rows (detached), on the device ``encode_text`` returns.

    Raises:
        ValueError: empty or non-string ``class_names`` or ``templates``, a template without
            ``{}``, or ``encode_text`` returning a wrong shape or non-finite values.

    Example:
        >>> import torch
        >>> def encode_text(texts):  # 2-D fake: "cat" prompts point along x, others along y
        ...     return torch.tensor([[1.0, 0.0] if "cat" in t else [0.0, 2.0] for t in texts])
        >>> zero_shot_classifier(["cat", "dog"], encode_text, templates=["a {}.", "the {}."])
        tensor([[1., 0.],
                [0., 1.]])
    """
    names = _check_names("class_names", class_names)
    prompts = _check_names("templates", templates)
    weights = []
    dim = None
    with torch.no_grad():
        for name in names:
            embedded = encode_text([_fill(template, name) for template in prompts])
            if not isinstance(embedded, Tensor) or embedded.ndim != 2:
                raise ValueError(
                    "encode_text must return a (T, D) tensor for T prompts, got "
                    f"{getattr(embedded, 'shape', type(embedded).__name__)}"
                )
            if embedded.shape[0] != len(prompts) or (dim is not None and embedded.shape[1] != dim):
                raise ValueError(
                    f"encode_text returned shape {tuple(embedded.shape)} for class {name!r}; "
                    f"expected ({len(prompts)}, {dim if dim is not None else 'D'})"
                )
            if not bool(torch.isfinite(embedded).all()):
                raise ValueError(f"encode_text returned non-finite values for class {name!r}")
            dim = embedded.shape[1]
            mean = F.normalize(embedded.detach().float(), dim=1).mean(dim=0)
            weights.append(F.normalize(mean, dim=0))
    return torch.stack(weights)


def zero_shot_accuracy(
    image_emb: Tensor, labels: Tensor, classifier: Tensor, *, ks: Sequence[int] = (1, 5)
) -> dict[str, float]:
    """Top-k accuracy of cosine-similarity classification against class weights.

    ``score[i, c] = cos(image_emb[i], classifier[c])``; the rank of the true class is
    ``1 + #{c != y_i : score[i, c] >= score[i, y_i]}`` (ties count against the prediction, so
    collapsed embeddings score 0, not chance), and ``top{k}`` is the fraction of images with
    rank <= k. ``mean_per_class_top1`` is the top-1 accuracy averaged over the classes present
    in ``labels`` (CLIP reports it for unbalanced data sets).

    Args:
        image_emb: (N, D) image embeddings.
        labels: (N,) integer labels in [0, C).
        classifier: (C, D) class weights, e.g. from :func:`zero_shot_classifier`.
        ks: cut-offs, each >= 1 (a k >= C gives 1.0).

    Returns:
        ``{"top1": ..., "top5": ..., "mean_per_class_top1": ...}``, fractions in [0, 1].

    Example:
        >>> import torch
        >>> zero_shot_accuracy(torch.eye(3), torch.tensor([0, 1, 2]), torch.eye(3), ks=(1,))
        {'top1': 1.0, 'mean_per_class_top1': 1.0}
    """
    for name, x in (("image_emb", image_emb), ("classifier", classifier)):
        if not isinstance(x, Tensor) or x.ndim != 2 or not x.is_floating_point():
            raise ValueError(f"{name} must be a float (N, D) tensor, got {getattr(x, 'shape', x)}")
        if x.shape[0] == 0 or not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} must be non-empty and finite")
    if image_emb.shape[1] != classifier.shape[1]:
        raise ValueError(
            f"image_emb and classifier must have the same D, got {image_emb.shape[1]} and "
            f"{classifier.shape[1]}"
        )
    num_classes = classifier.shape[0]
    if (
        not isinstance(labels, Tensor)
        or labels.is_floating_point()
        or labels.shape != (image_emb.shape[0],)
    ):
        raise ValueError(
            f"labels must be an integer tensor of shape ({image_emb.shape[0]},), got "
            f"{getattr(labels, 'shape', labels)}"
        )
    if bool((labels < 0).any()) or bool((labels >= num_classes).any()):
        raise ValueError(f"labels must lie in [0, {num_classes}) (one per classifier row)")
    if not ks or any(int(k) != k or k < 1 for k in ks):
        raise ValueError(f"ks must be a non-empty sequence of integers >= 1, got {ks!r}")
    weights = F.normalize(classifier.detach().float(), dim=1)
    images = F.normalize(image_emb.detach().to(weights.device, torch.float32), dim=1)
    target = labels.detach().to(weights.device, torch.long)
    scores = images @ weights.T  # (N, C)
    true_score = scores.gather(1, target[:, None])
    ahead = scores >= true_score
    ahead.scatter_(1, target[:, None], False)
    ranks = (ahead.sum(dim=1) + 1).cpu()
    metrics = {f"top{int(k)}": float((ranks <= k).double().mean()) for k in ks}
    correct = (ranks == 1).double()
    target = target.cpu()
    per_class = [correct[target == c].mean() for c in target.unique()]
    metrics["mean_per_class_top1"] = float(torch.stack(per_class).mean())
    return metrics


def zero_shot_evaluate(
    image_emb: Tensor,
    labels: Tensor,
    class_names: Sequence[str],
    encode_text: EncodeText,
    *,
    templates: Sequence[str] = DEFAULT_TEMPLATES,
    ks: Sequence[int] = (1, 5),
) -> dict[str, Any]:
    """Zero-shot classification as a JSON-ready record.

    :func:`zero_shot_classifier` then :func:`zero_shot_accuracy`.

    Returns:
        ``{"protocol": "zero_shot", "params": {"num_templates", "templates", "num_classes",
        "class_names", "ks"}, "metrics": {"top1", "top5", "mean_per_class_top1"}}``.

    Example:
        >>> import torch
        >>> def encode_text(texts):
        ...     return torch.tensor([[1.0, 0.0] if "cat" in t else [0.0, 1.0] for t in texts])
        >>> images, labels = torch.tensor([[0.9, 0.1], [0.2, 0.8]]), torch.tensor([0, 1])
        >>> zero_shot_evaluate(images, labels, ["cat", "dog"], encode_text)["metrics"]["top1"]
        1.0
    """
    classifier = zero_shot_classifier(class_names, encode_text, templates=templates)
    metrics = zero_shot_accuracy(image_emb, labels, classifier, ks=ks)
    params = {
        "num_templates": len(templates),
        "templates": list(templates),
        "num_classes": len(class_names),
        "class_names": list(class_names),
        "ks": [int(k) for k in ks],
        "ensembling": "mean of L2-normalized prompt embeddings, re-normalized",
    }
    return {"protocol": "zero_shot", "params": params, "metrics": metrics}


@dataclass(frozen=True)
class ZeroShotParams:
    """Recipe keys of the ``zero_shot`` protocol."""

    zero_shot_dataset: str = "cifar10"  # labelled images (test split) whose class names prompt
    zero_shot_limit: int = 2000  # a seeded class-stratified subset of this many images (0: all)
    prompt_ensemble: bool = True  # average 12 templates (false: "a photo of a {}.")

    def __post_init__(self) -> None:
        if not isinstance(self.zero_shot_dataset, str) or not self.zero_shot_dataset:
            raise ValueError(
                "zero_shot_dataset must name labelled images (cifar10 or a class folder), "
                f"got {self.zero_shot_dataset!r}"
            )
        check_number("zero_shot_limit", self.zero_shot_limit, integer=True, minimum=0)
        if not isinstance(self.prompt_ensemble, bool):
            raise ValueError(f"prompt_ensemble must be true or false, got {self.prompt_ensemble!r}")


def zero_shot_protocol(context: ImageTextEmbedder, params: ZeroShotParams) -> list[Record]:
    """Zero-shot top-1/top-5 of a labelled test set from class-name prompts (CLIP, 3.1.4)."""
    image_emb, labels, classes, name = context.labelled_images(
        params.zero_shot_dataset, params.zero_shot_limit
    )
    templates = CIFAR_TEMPLATES if params.prompt_ensemble else DEFAULT_TEMPLATES
    names = [c.replace("_", " ") for c in classes]
    record = zero_shot_evaluate(
        image_emb,
        labels,
        names,
        lambda prompts: context.embed_prompts(prompts),
        templates=templates,
    )
    record["params"].update(dataset=name, num_images=len(labels))
    return [record]


def _zero_shot_cells(record: Record) -> list[tuple[str, str]]:
    return [("zero-shot top-1", f"{record['metrics']['top1']:.4f}")]


ZERO_SHOT = EvalProtocol(
    "zero_shot",
    ("image_text",),
    zero_shot_protocol,
    ZeroShotParams,
    _zero_shot_cells,
    data_key="zero_shot_dataset",
)
