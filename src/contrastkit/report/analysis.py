"""What the report measures on a trained run: test embeddings, a 2-D map, similarities, neighbours.

Everything here works on the run's frozen ``method.encode`` features, L2-normalized, so cosine
similarity is a dot product. Nothing is written; :mod:`contrastkit.report.plots` draws the results.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.data.dataset import ImageDataset
from contrastkit.modalities.image.modality import encode_dataset
from contrastkit.train import resolve_device
from contrastkit.transforms.multiview import MultiView


@dataclass(frozen=True)
class Embedded:
    """A sample of a dataset split with its normalized features.

    Attributes:
        dataset: the sampled images (uint8 N, C, H, W) and labels.
        features: (N, F) L2-normalized features from ``method.encode``.
    """

    dataset: ImageDataset
    features: Tensor


@dataclass(frozen=True)
class Similarities:
    """Cosine similarities of positive pairs (two views of one image) and of negatives.

    Attributes:
        positive: (B,) similarity of each image's first view to its second view.
        negative: (B * (B - 1),) similarity of each first view to the other images' second views.
    """

    positive: Tensor
    negative: Tensor


def sample_rows(total: int, count: int, *, seed: int) -> Tensor:
    """Up to ``count`` of ``total`` indices drawn without replacement, in index order."""
    if count >= total:
        return torch.arange(total)
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    return order[:count].sort().values


def sample(dataset: ImageDataset, count: int, *, seed: int) -> ImageDataset:
    """Up to ``count`` samples of ``dataset`` drawn without replacement, in index order."""
    if count >= len(dataset):
        return dataset
    return dataset.subset(sample_rows(len(dataset), count, seed=seed))


def embed_sample(
    method: nn.Module,
    views: MultiView,
    dataset: ImageDataset,
    count: int,
    *,
    seed: int,
    device: str,
    known: Tensor | None = None,
) -> Embedded:
    """Normalized frozen features (through ``views.eval``) of a sample of ``count`` images.

    ``known``: the features of every image of ``dataset`` when evaluation already computed
    them; the sample's rows are then taken from them instead of encoding the images again.
    """
    rows = sample_rows(len(dataset), count, seed=seed)
    if known is not None:
        features = known[rows]
    else:
        features = encode_dataset(method, dataset.subset(rows), views, device=device)
    return Embedded(dataset.subset(rows), F.normalize(features.flatten(1), dim=1))


def project_2d(features: Tensor, *, seed: int) -> tuple[np.ndarray, str]:
    """A 2-D map of the rows of ``features``: UMAP when ``umap`` imports, else t-SNE.

    Returns:
        The (N, 2) coordinates and the name of the projection ("UMAP" or "t-SNE").
    """
    data = features.double().numpy()
    try:
        import umap

        reducer = umap.UMAP(n_components=2, random_state=seed)
        return np.asarray(reducer.fit_transform(data)), "UMAP"
    except ImportError:
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        perplexity = float(min(30.0, max(2.0, (len(data) - 1) / 3)))
        tsne = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed)
        # scikit-learn's Barnes-Hut t-SNE spins OpenMP threads on every core; on a shared
        # machine (training or benchmarks alongside) that is several times slower than half.
        with threadpool_limits(limits=max(1, (os.cpu_count() or 2) // 2), user_api="openmp"):
            return np.asarray(tsne.fit_transform(data)), "t-SNE"


@torch.no_grad()
def view_similarities(
    method: nn.Module,
    views: MultiView,
    images: Tensor,
    *,
    seed: int,
    device: str,
) -> Similarities:
    """Cosine similarities between two augmented views of ``images`` (uint8 B, C, H, W).

    The run's own view maker makes the views (the first two, for multi-crop recipes: the global
    crops) and ``method.encode`` embeds them, so this shows the backbone features the evaluation
    uses, not the projection head the loss sees. Positives are the two views of one image;
    negatives pair the first view of an image with the second view of every other image.
    """
    target = resolve_device(device)
    method.to(target).eval()
    made = views(images.to(target), torch.Generator().manual_seed(seed))
    if len(made) < 2:
        raise ValueError("the run's view maker makes a single view; no positive pairs to show")
    z_a = F.normalize(method.encode(made[0]).float().flatten(1), dim=1).cpu()  # type: ignore[operator]
    z_b = F.normalize(method.encode(made[1]).float().flatten(1), dim=1).cpu()  # type: ignore[operator]
    similarity = z_a @ z_b.T  # (B, B)
    off_diagonal = ~torch.eye(len(similarity), dtype=torch.bool)
    return Similarities(similarity.diagonal().clone(), similarity[off_diagonal])


def nearest(queries: Tensor, gallery: Tensor, *, k: int) -> tuple[Tensor, Tensor]:
    """The ``k`` most cosine-similar gallery rows for each (normalized) query row.

    Returns:
        Similarities (Q, k) and gallery indices (Q, k), most similar first.
    """
    k = min(k, len(gallery))
    values, indices = (queries @ gallery.T).topk(k, dim=1)
    return values, indices


def query_indices(count: int, total: int) -> Tensor:
    """``count`` indices spread evenly over ``range(total)`` (the report's query images)."""
    count = min(count, total)
    return torch.linspace(0, total - 1, count).round().long() if count else torch.empty(0).long()
