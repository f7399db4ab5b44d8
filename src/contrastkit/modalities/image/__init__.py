"""Images: one data set split, augmented views, one encoder inside a method; kNN and linear
probes. Recipe section: :class:`ImageData`."""

from contrastkit.modalities.image.modality import (
    ImageFeatures,
    ImageModality,
    build_views,
    encode_dataset,
    load_images,
)
from contrastkit.modalities.image.recipe import ImageData

IMAGE = ImageModality()

__all__ = [
    "IMAGE",
    "ImageData",
    "ImageFeatures",
    "ImageModality",
    "build_views",
    "encode_dataset",
    "load_images",
]
