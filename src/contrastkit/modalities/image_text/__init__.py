"""Image-text pairs: two towers (CLIP, SigLIP, LiT), caption retrieval and zero-shot
classification. Recipe section: :class:`ImageTextData`."""

from contrastkit.modalities.image_text.modality import (
    ImageTextFeatures,
    ImageTextModality,
    build_two_tower,
    image_features,
)
from contrastkit.modalities.image_text.recipe import ImageTextData

IMAGE_TEXT = ImageTextModality()

__all__ = [
    "IMAGE_TEXT",
    "ImageTextData",
    "ImageTextFeatures",
    "ImageTextModality",
    "build_two_tower",
    "image_features",
]
