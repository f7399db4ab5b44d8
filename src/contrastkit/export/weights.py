"""Tensors to and from ``.safetensors`` files (never pickle)."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor, nn


def save_weights(state: dict[str, Tensor], path: Path) -> Path:
    """Write a state dict as safetensors: every tensor a contiguous CPU copy (no shared storage).

    Example:
        >>> import tempfile, torch
        >>> folder = Path(tempfile.mkdtemp())
        >>> path = save_weights({"w": torch.ones(2)}, folder / "w.safetensors")
        >>> load_weights_file(path)["w"].tolist()
        [1.0, 1.0]
    """
    from safetensors.torch import save_file

    tensors = {name: t.detach().to("cpu").contiguous().clone() for name, t in state.items()}
    save_file(tensors, str(path), metadata={"format": "pt"})
    return path


def load_weights_file(path: Path) -> dict[str, Tensor]:
    """The tensors of a ``.safetensors`` file, on the CPU."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise ValueError(f"{path} is missing: this folder is not a complete contrastkit export")
    return load_file(str(path))


def load_into(module: nn.Module, path: Path) -> nn.Module:
    """Load a ``.safetensors`` file into ``module`` (every name must match); returns it."""
    module.load_state_dict(load_weights_file(path), strict=True)
    return module
