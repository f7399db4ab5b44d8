"""The papers' augmentation recipes, each a function returning a :class:`MultiView`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from contrastkit.transforms.blur import RandomGaussianBlur, blur_kernel_size
from contrastkit.transforms.color import ColorJitter
from contrastkit.transforms.compose import BatchTransform, Compose
from contrastkit.transforms.crop import RandomResizedCrop
from contrastkit.transforms.flip import RandomHorizontalFlip
from contrastkit.transforms.grayscale import RandomGrayscale
from contrastkit.transforms.multiview import MultiView
from contrastkit.transforms.solarize import RandomSolarize

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GRAY_MEAN = (0.5,)
GRAY_STD = (0.5,)


def _stats(
    channels: int,
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
    rgb: tuple[tuple[float, ...], tuple[float, ...]],
) -> tuple[Sequence[float], Sequence[float]]:
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    default_mean, default_std = rgb if channels == 3 else (GRAY_MEAN, GRAY_STD)
    return (default_mean if mean is None else mean), (default_std if std is None else std)


def small_image_scale(size: int) -> tuple[float, float]:
    """Crop area range for SimCLR-style crops at side ``size``.

    The paper's (0.08, 1) leaves a 2x2 patch of an 8x8 digit, so small images keep more:
    (0.5, 1) up to 16 pixels, (0.2, 1) below 32, (0.08, 1) from 32 on.

    Example:
        >>> small_image_scale(8), small_image_scale(28), small_image_scale(32)
        ((0.5, 1.0), (0.2, 1.0), (0.08, 1.0))
    """
    if size <= 16:
        return (0.5, 1.0)
    if size < 32:
        return (0.2, 1.0)
    return (0.08, 1.0)


def _byol_view(
    size: int, scale: tuple[float, float], *, blur: float, solarize: float
) -> list[BatchTransform]:
    """BYOL/DINO's view: crop, flip, jitter (0.4, 0.4, 0.2, 0.1) p=0.8, gray 0.2, blur, solarize."""
    view: list[BatchTransform] = [
        RandomResizedCrop(size=size, scale=scale),
        RandomHorizontalFlip(p=0.5),
        ColorJitter(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, p=0.8),
        RandomGrayscale(p=0.2),
    ]
    if blur > 0:
        view.append(RandomGaussianBlur(kernel_size=blur_kernel_size(size), p=blur))
    if solarize > 0:
        view.append(RandomSolarize(p=solarize))
    return view


def eval_crop_fraction(size: int) -> float:
    """ImageNet's evaluation crop (resize to size / 0.875, center-crop) for large images only.

    Small images (CIFAR, Fashion-MNIST, digits: below 64 px) are evaluated whole, as their
    benchmarks do.
    """
    return 0.875 if size >= 64 else 1.0


def simclr(
    size: int = 32,
    *,
    variant: str = "cifar",
    channels: int = 3,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    scale: tuple[float, float] | None = None,
) -> MultiView:
    """SimCLR's two identically distributed views (arXiv 2002.05709, appendix A).

    Crop (area ``scale``, default (0.08, 1), larger for small images, see
    :func:`small_image_scale`), flip p=0.5, colour jitter (0.8s, 0.8s, 0.8s, 0.2s) with p=0.8
    where the strength s is 0.5 for ``variant="cifar"`` and 1.0 for ``"imagenet"``, grayscale
    p=0.2; the ImageNet variant adds Gaussian blur p=0.5 (sigma in [0.1, 2], kernel 10% of the
    side). Evaluation resizes to ``size`` (ImageNet: shorter side to size / 0.875, then a
    center crop). ``channels=1`` gives a grayscale recipe (digits, Fashion-MNIST).

    Example:
        >>> simclr(8, channels=1).num_views
        2
    """
    if variant not in ("cifar", "imagenet"):
        raise ValueError(f"variant must be 'cifar' or 'imagenet', got {variant!r}")
    imagenet = variant == "imagenet"
    stats = (IMAGENET_MEAN, IMAGENET_STD) if imagenet else (CIFAR10_MEAN, CIFAR10_STD)
    mean, std = _stats(channels, mean, std, stats)
    strength = 1.0 if imagenet else 0.5
    view: list[BatchTransform] = [
        RandomResizedCrop(size=size, scale=scale or small_image_scale(size)),
        RandomHorizontalFlip(p=0.5),
        ColorJitter(
            brightness=0.8 * strength,
            contrast=0.8 * strength,
            saturation=0.8 * strength,
            hue=0.2 * strength,
            p=0.8,
        ),
        RandomGrayscale(p=0.2),
    ]
    if imagenet:
        view.append(RandomGaussianBlur(kernel_size=blur_kernel_size(size), p=0.5))
    pipeline = Compose(transforms=view)
    fraction = eval_crop_fraction(size) if imagenet else 1.0
    return MultiView(
        views=[pipeline, pipeline], mean=mean, std=std, eval_size=size, eval_crop_fraction=fraction
    )


def simclr_imagenet(
    size: int = 224,
    *,
    channels: int = 3,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    scale: tuple[float, float] | None = None,
) -> MultiView:
    """SimCLR's ImageNet recipe: :func:`simclr` with ``variant="imagenet"`` (arXiv 2002.05709).

    Example:
        >>> simclr_imagenet(64).eval_crop_fraction
        0.875
    """
    return simclr(size, variant="imagenet", channels=channels, mean=mean, std=std, scale=scale)


def byol(
    size: int = 224,
    *,
    channels: int = 3,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    scale: tuple[float, float] = (0.08, 1.0),
) -> MultiView:
    """BYOL's asymmetric pair of views (arXiv 2006.07733, table 6).

    Both views: crop (area ``scale``), flip, jitter (0.4, 0.4, 0.2, 0.1) with p=0.8,
    grayscale p=0.2. View 1: blur p=1.0, no solarization. View 2: blur p=0.1, solarize p=0.2.

    Example:
        >>> byol(64).num_views
        2
    """
    mean, std = _stats(channels, mean, std, (IMAGENET_MEAN, IMAGENET_STD))
    first = Compose(transforms=_byol_view(size, scale, blur=1.0, solarize=0.0))
    second = Compose(transforms=_byol_view(size, scale, blur=0.1, solarize=0.2))
    return MultiView(
        views=[first, second],
        mean=mean,
        std=std,
        eval_size=size,
        eval_crop_fraction=eval_crop_fraction(size),
    )


def multi_crop(
    global_size: int = 224,
    local_size: int | None = None,
    *,
    num_local: int = 6,
    global_scale: tuple[float, float] = (0.4, 1.0),
    local_scale: tuple[float, float] = (0.05, 0.4),
    channels: int = 3,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> MultiView:
    """Multi-crop for SwAV (arXiv 2006.09882) and DINO (2104.14294): 2 global + N local crops.

    Globals come first. ``local_size`` defaults to the papers' ratio (96 px for 224 px globals),
    at least 8 px. As in DINO: both use BYOL's colour pipeline; global 1 blurs with
    p=1.0, global 2 blurs with p=0.1 and solarizes with p=0.2, local crops blur with p=0.5.

    Example:
        >>> import torch
        >>> views = multi_crop(64, 32, num_local=2)(torch.rand(2, 3, 96, 96), torch.Generator())
        >>> [tuple(v.shape[-2:]) for v in views]
        [(64, 64), (64, 64), (32, 32), (32, 32)]
    """
    if num_local < 0:
        raise ValueError(f"num_local must be >= 0, got {num_local}")
    if local_size is None:  # the papers' 96 px locals for 224 px globals, scaled
        local_size = max(8, round(global_size * 96 / 224))
    mean, std = _stats(channels, mean, std, (IMAGENET_MEAN, IMAGENET_STD))
    first = Compose(transforms=_byol_view(global_size, global_scale, blur=1.0, solarize=0.0))
    second = Compose(transforms=_byol_view(global_size, global_scale, blur=0.1, solarize=0.2))
    local = Compose(transforms=_byol_view(local_size, local_scale, blur=0.5, solarize=0.0))
    return MultiView(
        views=[first, second] + [local] * num_local,
        mean=mean,
        std=std,
        eval_size=global_size,
        eval_crop_fraction=eval_crop_fraction(global_size),
    )


def digits(
    size: int = 8,
    *,
    mean: Sequence[float] = GRAY_MEAN,
    std: Sequence[float] = GRAY_STD,
    scale: tuple[float, float] | None = None,
) -> MultiView:
    """A SimCLR-style pair for small grayscale images (8x8 digits, 28x28 MNIST/Fashion-MNIST).

    Crop with area :func:`small_image_scale` (0.5-1 at 8 px), brightness/contrast jitter 0.4
    with p=0.8, no flip (a mirrored 2 or 7 is another glyph) and no blur (it erases 8x8 digits).

    Example:
        >>> digits(8).num_views
        2
    """
    pipeline = Compose(
        transforms=[
            RandomResizedCrop(size=size, scale=scale or small_image_scale(size)),
            ColorJitter(brightness=0.4, contrast=0.4, p=0.8),
        ]
    )
    return MultiView(views=[pipeline, pipeline], mean=mean, std=std, eval_size=size)


RECIPES: dict[str, Callable[..., MultiView]] = {
    "simclr": simclr,
    "simclr_imagenet": simclr_imagenet,
    "byol": byol,
    "multi_crop": multi_crop,
    "digits": digits,
}
