"""The image modality's recipe section: which images, how they are decoded, which views."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contrastkit.data.load import builtin_name
from contrastkit.recipe import DataConfig
from contrastkit.transforms.recipes import RECIPES
from contrastkit.types.values import check_choice, check_number


@dataclass(frozen=True)
class ImageData(DataConfig):
    """Recipe keys of image runs (SimCLR, MoCo, BYOL, DINO, ...)."""

    dataset: str = "digits"  # digits | cifar10 | fashion_mnist | a class-folder or .npz path
    views: str = "simclr"  # view recipe (contrastkit.registry.VIEW_RECIPES)
    views_options: dict[str, Any] = field(default_factory=dict)  # extra view-recipe arguments
    image_size: int = 32  # output size of the (global) views
    # decode every image of a folder resized to load_size x load_size (folders of mixed sizes,
    # as photos are); None: the images must share one size
    load_size: int | None = None
    skip_corrupt: bool = False  # skip unreadable image files of a folder, counting them

    def __post_init__(self) -> None:
        check_choice("views", self.views, list(RECIPES))
        check_number("image_size", self.image_size, integer=True, minimum=1)
        check_number("load_size", self.load_size, integer=True, minimum=1, optional=True)
        if not isinstance(self.views_options, dict):
            raise ValueError(f"views_options must be a table, got {self.views_options!r}")
        if builtin_name(self.dataset) is not None and (
            self.skip_corrupt or self.load_size is not None
        ):
            key = "skip_corrupt" if self.skip_corrupt else "load_size"
            raise ValueError(
                f"{key} applies to image folders, not the built-in data set {self.dataset!r}; "
                f"remove {key} from the recipe"
            )
