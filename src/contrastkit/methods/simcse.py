"""SimCSE: sentence embeddings from InfoNCE over dropout views or (anchor, positive) pairs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.losses import cosent, info_nce
from contrastkit.losses.matryoshka import check_matryoshka_dims, matryoshka_loss
from contrastkit.methods.base import MethodOutput, feature_dim
from contrastkit.types import TextBatch, Tokens, check_positive


def _stack(tokens: Sequence[Tokens]) -> Tokens:
    """Several batches of equal length as one (B1 + B2 + ..., L)."""
    return Tokens(
        torch.cat([t.input_ids for t in tokens]), torch.cat([t.attention_mask for t in tokens])
    )


class SimCSE(nn.Module):
    """SimCSE (Gao, Yao & Chen, arXiv 2104.08821), unsupervised and supervised.

    For B examples with anchors x_i, positives x_i^+ and optional hard negatives x_i^-::

        h = f(x)                         # sentence encoder (pooled), (B, F)
        z = g(h)                         # MLP head Linear(F, F) + tanh, training only
        L = InfoNCE(z, z^+; negatives = z^-, t = 0.05)

    Anchor i must pick out its positive among the B positives of the batch and, when the
    batch has hard negatives, the B hard negatives (:func:`~contrastkit.losses.info_nce`).

    * Unsupervised: ``TextBatch(anchor)`` with ``positive=None``: the same sentences pass
      through the encoder twice (in one forward pass of 2B rows) and the two dropout masks
      make the two views.
    * Supervised: (anchor, positive[, hard negative]) triples, e.g. NLI entailment and
      contradiction, or captions of the same image.
    * False negatives: ``batch.ids`` masks examples of the same group out of each other's
      negatives (identical sentences, captions of one image).
    * Scored pairs (STS-B train): rows of ``batch.scores`` that are not NaN take part in a
      CoSENT ranking term (Su 2022; AnglE, arXiv 2309.12871) with weight ``cosent_weight``;
      they count as InfoNCE positives only when their score is >= ``positive_score``.

    The paper's ``mlp_only_train``: ``encode`` returns the encoder's pooled features h, the
    head is used only for the loss. ``embeddings`` are the head outputs (z, z^+).
    Supports gradient caching (:class:`~contrastkit.methods.base.CachedMethod`): ``embed``
    gives the encoder features, the head and the losses run on the whole batch.

    Args:
        encoder: a text encoder: ``forward(Tokens) -> (B, feature_dim)``, ``encode_texts``.
        temperature: InfoNCE temperature t (0.05 in the paper).
        mlp_head: use the MLP head during training (the paper's unsupervised setting); with
            False the loss sees h directly (sentence-transformers' fine-tuning).
        mlp_only_train: drop the head at evaluation (True in the paper's unsupervised model).
        cosent_weight: weight of the CoSENT term on scored pairs (0: unused).
        cosent_temperature: CoSENT's temperature (0.05, a scale of 20).
        positive_score: scored pairs at or above this score are also InfoNCE positive pairs
            (None: scored pairs feed CoSENT only).
        gather_distributed: keys, hard negatives and scored pairs of every process.
        matryoshka_dims: Matryoshka representation learning (arXiv 2205.13147): both terms
            are also applied to these nested prefixes of the embedding, e.g.
            ``[384, 256, 128, 64, 32]`` (strictly descending, at most the encoder's width;
            :class:`~contrastkit.losses.MatryoshkaLoss`), so that ``embed --dim K`` keeps
            most of the quality. Needs the loss on what ``encode`` returns: no MLP head, or
            ``mlp_only_train=False``. None: the full dimension only.
        matryoshka_weights: one weight per Matryoshka dim (default 1 each; terms are summed).

    Example:
        >>> import torch
        >>> class Bag(nn.Module):  # a tiny bag-of-words "sentence encoder"
        ...     feature_dim = 8
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.embedding = nn.EmbeddingBag(100, 8)
        ...         self.dropout = nn.Dropout(0.1)
        ...     def forward(self, tokens):
        ...         return self.dropout(self.embedding(tokens.input_ids))
        >>> ids = torch.randint(0, 100, (4, 6))
        >>> batch = TextBatch(Tokens(ids, torch.ones_like(ids)))
        >>> SimCSE(Bag())(batch, progress=0.0).loss.shape
        torch.Size([])
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        temperature: float = 0.05,
        mlp_head: bool = True,
        mlp_only_train: bool = True,
        cosent_weight: float = 0.0,
        cosent_temperature: float = 0.05,
        positive_score: float | None = None,
        gather_distributed: bool = False,
        matryoshka_dims: list[int] | None = None,
        matryoshka_weights: list[float] | None = None,
    ) -> None:
        super().__init__()
        check_positive("temperature", temperature)
        check_positive("cosent_temperature", cosent_temperature)
        if not (math.isfinite(cosent_weight) and cosent_weight >= 0):
            raise ValueError(f"cosent_weight must be a finite number >= 0, got {cosent_weight}")
        if positive_score is not None and not math.isfinite(positive_score):
            raise ValueError(f"positive_score must be a finite score or None, got {positive_score}")
        width = feature_dim(encoder)
        self.matryoshka_dims: list[int] | None = None
        self.matryoshka_weights: list[float] | None = None
        if matryoshka_dims is not None:
            if mlp_head and mlp_only_train:
                raise ValueError(
                    "matryoshka_dims trains prefixes of the embedding the loss sees, but with "
                    "mlp_head = true and mlp_only_train = true that is the head's output, not "
                    "what encode returns: set mlp_head = false or mlp_only_train = false"
                )
            self.matryoshka_dims, self.matryoshka_weights = check_matryoshka_dims(
                matryoshka_dims, matryoshka_weights, embedding_dim=width
            )
        elif matryoshka_weights is not None:
            raise ValueError("matryoshka_weights needs matryoshka_dims (one weight per dim)")
        self.encoder = encoder
        self.head = nn.Sequential(nn.Linear(width, width), nn.Tanh()) if mlp_head else None
        self.temperature = temperature
        self.mlp_only_train = mlp_only_train
        self.cosent_weight = cosent_weight
        self.cosent_temperature = cosent_temperature
        self.positive_score = positive_score
        self.gather_distributed = gather_distributed

    def forward(self, batch: TextBatch, *, progress: float) -> MethodOutput:
        return self.loss_from_embeddings(
            self.embed(batch, progress=progress), batch, progress=progress
        )

    def embed(self, batch: TextBatch, *, progress: float) -> tuple[Tensor, ...]:
        """Encoder features (h, h^+[, h^-]), each (B, F), with gradients."""
        _check_step(batch, progress)
        if batch.positive is None:
            both = self.encoder(_stack([batch.anchor, batch.anchor]))
            return tuple(both.split(batch.batch_size))
        views = [batch.anchor, batch.positive]
        views += [batch.negative] if batch.negative is not None else []
        return tuple(self.encoder(tokens) for tokens in views)

    def loss_from_embeddings(
        self, embeddings: tuple[Tensor, ...], batch: TextBatch, *, progress: float
    ) -> MethodOutput:
        """The head, InfoNCE on the positive pairs and CoSENT on the scored pairs."""
        z = [self.head(h) if self.head is not None else h for h in embeddings]
        logs: dict[str, float] = {}
        if self.matryoshka_dims is None:
            loss = self._terms(z, batch, logs)
        else:  # the same terms on each nested prefix (logs: the largest prefix's)
            loss = matryoshka_loss(
                lambda *prefixes: self._terms(list(prefixes), batch, logs),
                z,
                dims=self.matryoshka_dims,
                weights=self.matryoshka_weights,
            )
        return MethodOutput(loss, (z[0].detach(), z[1].detach()), logs)

    def _terms(self, z: list[Tensor], batch: TextBatch, logs: dict[str, float]) -> Tensor:
        """InfoNCE plus the weighted CoSENT term of embeddings ``z`` (logged once)."""
        z_a, z_b = z[0], z[1]
        # zero with a graph: a batch without positive or scored pairs still backpropagates
        loss = (z_a * 0.0).sum()
        contrastive = self._info_nce_term(z, batch)
        if contrastive is not None:
            loss = loss + contrastive
        ranking = self._cosent_term(z_a, z_b, batch)
        if ranking is not None:
            loss = loss + self.cosent_weight * ranking
            logs.setdefault("cosent", float(ranking.detach()))
        return loss

    def _info_nce_term(self, z: list[Tensor], batch: TextBatch) -> Tensor | None:
        """InfoNCE of the positive pairs (None when too few in a single process)."""
        pairs = self._positive_rows(batch)
        count, negatives = int(pairs.sum()), z[2] if len(z) > 2 else None
        # with several processes every process must join the gathers, even with no pair
        if not (self.gather_distributed or count >= 2 or (count == 1 and negatives is not None)):
            return None
        return info_nce(
            z[0][pairs],
            z[1][pairs],
            temperature=self.temperature,
            negatives=negatives,
            gather_distributed=self.gather_distributed,
            query_ids=batch.ids[pairs] if batch.ids is not None else None,
        )

    def _cosent_term(self, z_a: Tensor, z_b: Tensor, batch: TextBatch) -> Tensor | None:
        """CoSENT of the scored pairs (None when unused or too few in a single process)."""
        if self.cosent_weight == 0 or batch.scores is None:
            return None
        scored = torch.isfinite(batch.scores)
        if not (self.gather_distributed or int(scored.sum()) >= 2):
            return None
        return cosent(
            z_a[scored],
            z_b[scored],
            batch.scores[scored].to(z_a.dtype),
            temperature=self.cosent_temperature,
            gather_distributed=self.gather_distributed,
        )

    def _positive_rows(self, batch: TextBatch) -> Tensor:
        """(B,) True for the pairs that are InfoNCE positives."""
        if batch.scores is None:
            return torch.ones(batch.batch_size, dtype=torch.bool, device=batch.anchor.device)
        unscored = ~torch.isfinite(batch.scores)
        if self.positive_score is None:
            return unscored
        return unscored | (batch.scores >= self.positive_score)

    def encode(self, x: Tokens) -> Tensor:
        """(B, F) sentence features: the encoder's pooled output (head only if kept)."""
        h = self.encoder(x)
        return h if self.head is None or self.mlp_only_train else self.head(h)

    @torch.no_grad()
    def encode_texts(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 256,
        device: torch.device | str | None = "cpu",
    ) -> Tensor:
        """(N, F) features of many sentences, as :meth:`encode`, without gradients (CPU float32).

        The encoder's ``encode_texts`` (eval mode, length-sorted batches, input order kept);
        the head, when kept at evaluation, acts row by row on its output.
        """
        encoder: Any = self.encoder
        features: Tensor = encoder.encode_texts(texts, batch_size=batch_size, device=device)
        if self.head is None or self.mlp_only_train:
            return features
        weight = next(self.head.parameters())
        return self.head(features.to(weight.device, weight.dtype)).float().cpu()


def _check_step(batch: TextBatch, progress: float) -> None:
    if not isinstance(batch, TextBatch):
        raise ValueError(f"SimCSE takes a TextBatch of tokenized text, got {type(batch).__name__}")
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1], got {progress}")
    if batch.positive is not None and batch.positive.device != batch.anchor.device:
        raise ValueError("TextBatch.anchor and positive must be on the same device")
