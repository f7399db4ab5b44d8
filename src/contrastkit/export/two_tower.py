"""``two_tower``: an image-text run's two towers, projections, logit scale (and SigLIP's bias)
as safetensors plus the config that rebuilds them; :func:`load_two_tower` gives
``encode_image`` / ``encode_text``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.export.weights import load_into, save_weights

WEIGHTS_NAME = "two_tower.safetensors"
CONFIG_NAME = "two_tower.json"


def write_two_tower(run: Any, folder: Path) -> str:
    """Write the weights and ``two_tower.json`` (recipe and model spec); returns the card's
    "how to load"."""
    method = run.method.cpu().eval()
    save_weights(method.state_dict(), folder / WEIGHTS_NAME)
    config = {
        "recipe": run.recipe.to_flat(),
        "spec": run.spec,
        "logit_scale": float(method.logit_scale().detach()),
        "logit_bias": None if method.logit_bias is None else float(method.logit_bias.detach()),
    }
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    return "\n".join(
        [
            "```python",
            "import contrastkit",
            "",
            "model = contrastkit.load_model('THIS_FOLDER')",
            "images = model.encode_image(uint8_images)            # (B, proj_dim), L2-normalized",
            "texts = model.encode_text(['a dog', 'a cat'])         # (N, proj_dim), L2-normalized",
            "similarity = model.logit_scale * images @ texts.T",
            "```",
        ]
    )


class TwoTowerModel:
    """An exported two-tower model: projected, L2-normalized embeddings of both modalities.

    Attributes:
        method: the rebuilt :class:`~contrastkit.methods.TwoTower` (eval mode, CPU).
        max_length: the token limit of the text tower (the run's ``max_length``).
    """

    def __init__(self, method: nn.Module, max_length: int) -> None:
        self.method = method.eval()
        self.max_length = max_length

    @property
    def logit_scale(self) -> float:
        """The learned logit scale (the inverse temperature of the similarities)."""
        return float(self.method.logit_scale().detach())  # type: ignore[operator]

    @torch.no_grad()
    def encode_image(self, images: Tensor) -> Tensor:
        """(B, proj_dim) embeddings of uint8 (or float in [0, 1]) images (B, C, H, W)."""
        method: Any = self.method
        return method.encode(images)

    @torch.no_grad()
    def encode_text(self, texts: list[str]) -> Tensor:
        """(N, proj_dim) embeddings of ``texts``."""
        method: Any = self.method
        features = method.encoder_b.encode_texts(texts, device="cpu", max_length=self.max_length)
        return method.project_b(features)


def load_two_tower(folder: Path) -> TwoTowerModel:
    """The two-tower model exported to ``folder`` (:func:`write_two_tower`)."""
    from contrastkit.modalities.image_text.modality import build_two_tower
    from contrastkit.recipe import recipe_from_dict

    config = json.loads((folder / CONFIG_NAME).read_text())
    recipe = recipe_from_dict(config["recipe"], saved=True)
    method = build_two_tower(recipe.model, recipe.data)  # type: ignore[arg-type]
    load_into(method, folder / WEIGHTS_NAME)
    return TwoTowerModel(method, int(recipe.data.max_length))  # type: ignore[attr-defined]
