"""The image-text modality's recipe section: paired images and captions, the text tower."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contrastkit.recipe import DataConfig
from contrastkit.types.values import check_choice, check_number

IMAGE_TEXT_VIEWS = ("none", "random_crop")


@dataclass(frozen=True)
class ImageTextData(DataConfig):
    """Recipe keys of image-text runs (CLIP, SigLIP, LiT). ``encoder`` is the image tower."""

    # "flickr8k_1k", a folder with captions.txt and images/, or an image,caption CSV
    dataset: str = "flickr8k_1k"
    image_size: int = 32  # decoded side, and the image tower's input size by default
    views: str = "none"  # none | random_crop (area 0.5-1 of the image)
    max_length: int = 32  # caption tokens
    skip_missing: bool = False  # leave out pairs whose image is missing or unreadable
    cache_features: bool = True  # compute a locked tower's features once, on disk
    text_encoder: str = "minilm"  # the text tower (contrastkit.encoders.towers.build_tower)
    text_encoder_options: dict[str, Any] = field(default_factory=dict)  # e.g. {pooler = "mean"}

    def __post_init__(self) -> None:
        check_choice("views", self.views, IMAGE_TEXT_VIEWS)
        check_number("image_size", self.image_size, integer=True, minimum=1)
        check_number("max_length", self.max_length, integer=True, minimum=1)
        for key in ("skip_missing", "cache_features"):
            if not isinstance(getattr(self, key), bool):
                raise ValueError(f"{key} must be true or false, got {getattr(self, key)!r}")
        if not isinstance(self.text_encoder_options, dict):
            raise ValueError(
                f"text_encoder_options must be a table, got {self.text_encoder_options!r}"
            )
