"""Data sets decoded once to uint8 in memory, and the batch order that feeds them to training.

Built-in sets: scikit-learn's digits, CIFAR-10 from the shared data folder (``CONTRASTKIT_DATA``),
Fashion-MNIST from the Debian package; user data: ImageFolder trees and numpy arrays.
"""

from contrastkit.data.arrays import from_numpy
from contrastkit.data.batches import BatchOrder, ShuffledSource
from contrastkit.data.cifar import load_cifar10
from contrastkit.data.dataset import ImageDataset
from contrastkit.data.digits import load_digits
from contrastkit.data.fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist
from contrastkit.data.folder import IMAGE_EXTENSIONS, load_image_folder
from contrastkit.data.load import load_arrays, load_dataset
from contrastkit.data.root import cache_dir, data_root
from contrastkit.data.subsets import stratified_indices

__all__ = [
    "FASHION_MNIST_CLASSES",
    "IMAGE_EXTENSIONS",
    "BatchOrder",
    "ImageDataset",
    "ShuffledSource",
    "cache_dir",
    "data_root",
    "from_numpy",
    "load_arrays",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_image_folder",
    "stratified_indices",
]
