"""contrastkit: contrastive representation learning for images, text and image-text pairs."""

__version__ = "0.1.0"
