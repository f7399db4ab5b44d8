"""Text: sentence corpora, a sentence encoder inside SimCSE, STS-B dev selection and the ``sts``
protocol. Recipe section: :class:`TextData`."""

from contrastkit.modalities.text.modality import TextModality, read_texts
from contrastkit.modalities.text.recipe import TextData
from contrastkit.modalities.text.selection import BEST_NAME, STSDevSelection

TEXT = TextModality()

__all__ = ["BEST_NAME", "TEXT", "STSDevSelection", "TextData", "TextModality", "read_texts"]
