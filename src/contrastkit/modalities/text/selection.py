"""Model selection on an STS dev set during training: keep the weights with the best Spearman.

:class:`STSDevSelection` is a :class:`~contrastkit.train.fit.StepObserver`: every few steps it
embeds the dev pairs with the method being trained, correlates their cosine similarities with
the gold scores (:func:`~contrastkit.eval.sts.sts_correlation`) and, when the Spearman
correlation beats the best so far, writes the method's weights atomically to
``run_dir/best.pt``. :class:`contrastkit.Run` then loads ``best.pt`` instead of the
last checkpoint, so evaluation reports the selected model (SimCSE, arXiv 2104.08821, selects
its checkpoints on STS-B dev the same way).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from contrastkit.distributed import rank
from contrastkit.eval.sts import sts_correlation
from contrastkit.methods.base import MethodOutput
from contrastkit.train.checkpoint import load_checkpoint, save_checkpoint

BEST_NAME = "best.pt"


class STSDevSelection:
    """Evaluate STS dev Spearman every ``every`` steps and keep the best weights in ``best.pt``.

    ``best.pt`` holds ``{"model": state_dict, "step": int, "metric": name, "score": float}``
    (readable by :func:`~contrastkit.train.load_checkpoint`). A resumed run reads the score in
    an existing ``best.pt`` and only replaces it with a better one. Only the main process
    (rank 0) evaluates and writes; the others return ``{}``. The method's ``encode_texts``
    runs in eval mode without gradients and draws no random numbers, so selection does not
    change the training run itself.

    Args:
        method: the method being trained, with ``encode_texts(texts, *, batch_size, device)``
            (:class:`~contrastkit.methods.SimCSE`) and ``state_dict``.
        pairs: the dev set, ``(sentences_1, sentences_2, gold_scores)``
            (e.g. :func:`~contrastkit.eval.sts.read_sts_benchmark` ``("dev")``).
        run_dir: where ``best.pt`` goes.
        every: evaluate on steps divisible by this (>= 1).
        last_step: also evaluate on this step (the end of training), if given.
        name: the logged metric's name; ``best_`` + name logs the best so far.
        batch_size: sentences per encoder pass.

    Example:
        >>> import tempfile
        >>> from contrastkit.encoders.text import build_text_encoder
        >>> from contrastkit.methods import SimCSE
        >>> method = SimCSE(build_text_encoder("small_transformer", layers=1, width=32, heads=2))
        >>> dev = (["A cat sits.", "A man runs.", "Rain falls."],
        ...        ["A cat is sitting.", "A dog barks.", "The sun shines."], [4.8, 1.0, 0.5])
        >>> selection = STSDevSelection(method, dev, tempfile.mkdtemp(), every=10)
        >>> selection(5, None), sorted(selection(10, None))
        ({}, ['best_stsb_dev_spearman', 'stsb_dev_spearman'])
        >>> selection.path.is_file()
        True
    """

    def __init__(
        self,
        method: nn.Module,
        pairs: tuple[Sequence[str], Sequence[str], Sequence[float]],
        run_dir: str | Path,
        *,
        every: int,
        last_step: int | None = None,
        name: str = "stsb_dev_spearman",
        batch_size: int = 256,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(
                f"every must be an integer >= 1 (steps between evaluations), got {every!r}"
            )
        if not callable(getattr(method, "encode_texts", None)):
            raise ValueError(
                f"{type(method).__name__} has no encode_texts(texts); STS selection needs a "
                "text method such as SimCSE"
            )
        self.method, self.every, self.last_step = method, every, last_step
        self.sentences_1, self.sentences_2 = list(pairs[0]), list(pairs[1])
        self.scores = [float(score) for score in pairs[2]]
        self.path = Path(run_dir) / BEST_NAME
        self.name, self.batch_size = name, batch_size
        self.display = (name,)
        self.best = self._saved_score()
        self.checked_step: int | None = None

    def _saved_score(self) -> float:
        if not self.path.is_file():
            return -math.inf
        return float(load_checkpoint(self.path).get("score", -math.inf))

    def spearman(self) -> float:
        """The dev Spearman correlation of the method as it is now."""
        method: Any = self.method
        texts = self.sentences_1 + self.sentences_2
        features = method.encode_texts(texts, batch_size=self.batch_size, device=None)
        count = len(self.sentences_1)
        return float(sts_correlation(features[:count], features[count:], self.scores)["spearman"])

    def __call__(self, step: int, output: MethodOutput) -> dict[str, float]:
        if step % self.every != 0 and step != self.last_step:
            return {}
        return self._select(step)

    def finish(self, step: int) -> dict[str, float]:
        """At the end of training: evaluate the last step unless it was just evaluated (a run
        stopped by its time budget ends at a step no schedule could name in advance)."""
        return {} if step == self.checked_step else self._select(step)

    def _select(self, step: int) -> dict[str, float]:
        if rank() != 0:
            return {}
        self.checked_step = step
        try:
            score = self.spearman()
        except ValueError:  # constant similarities (collapsed embeddings): nothing to select
            return {}
        if score > self.best:
            self.best = score
            state = {k: v.detach().clone() for k, v in self.method.state_dict().items()}
            save_checkpoint(
                self.path, {"model": state, "step": step, "metric": self.name, "score": score}
            )
        return {self.name: score, f"best_{self.name}": self.best}
