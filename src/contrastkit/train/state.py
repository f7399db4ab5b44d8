"""Where a run stands, and how it becomes (and comes back from) a checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from contrastkit.train.checkpoint import load_checkpoint, save_checkpoint
from contrastkit.train.config import TrainConfig

CHECKPOINT_NAME = "checkpoint.pt"


@dataclass
class Position:
    """Completed optimizer steps and the next micro-batch of the data order."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0


@dataclass
class RandomState:
    """Every random stream a step consumes: torch's global RNG and the augmentation generator."""

    torch_state: torch.Tensor
    augment_state: torch.Tensor
    cuda_states: list[torch.Tensor]

    @classmethod
    def capture(cls, generator: torch.Generator) -> RandomState:
        """The current state of every stream (torch, augmentation generator, CUDA)."""
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
        return cls(torch.get_rng_state(), generator.get_state(), cuda)

    def restore(self, generator: torch.Generator) -> None:
        """Put every stream back where it was captured."""
        torch.set_rng_state(self.torch_state)
        generator.set_state(self.augment_state)
        if self.cuda_states and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(self.cuda_states)


def _check_finite(model: nn.Module) -> None:
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise FloatingPointError(f"parameter or buffer {name} is not finite")


def write_checkpoint(
    run_dir: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    position: Position,
    random_state: RandomState,
    config: TrainConfig,
    observer: Any = None,
) -> Path:
    """Save everything needed to continue exactly; refuses a model with non-finite weights.

    ``observer`` (a step observer such as the health monitor) is saved too when it has a
    ``state_dict()``.
    """
    _check_finite(model)
    state: dict[str, Any] = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "position": asdict(position),
        "rng_torch": random_state.torch_state,
        "rng_augment": random_state.augment_state,
        "rng_cuda": random_state.cuda_states,
        "config": asdict(config),
    }
    if hasattr(observer, "state_dict"):
        state["observer"] = observer.state_dict()
    return save_checkpoint(run_dir / CHECKPOINT_NAME, state)


def load_weights(model: nn.Module, weights: dict[str, Any], run_dir: Path) -> None:
    """Load a checkpoint's model state; a mismatch names the run folder instead of a traceback."""
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0:3]
        raise ValueError(
            f"the checkpoint in {run_dir} does not fit this model (was the recipe changed?): "
            + " ".join(first)
        ) from error


def read_checkpoint(
    run_dir: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    observer: Any = None,
) -> tuple[Position, RandomState]:
    """Load a run's checkpoint into ``model``, ``optimizer`` and ``observer`` (when it has a
    ``load_state_dict`` and the checkpoint saved its state); returns where to continue."""
    state = load_checkpoint(run_dir / CHECKPOINT_NAME)
    saved = state.get("config", {})
    changed = [key for key in TrainConfig.RESUME_KEYS if saved.get(key) != getattr(config, key)]
    if changed:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {getattr(config, k)!r}" for k in changed)
        raise ValueError(
            f"cannot resume {run_dir}: settings changed ({details}); use the checkpoint's "
            "settings or a new --out folder"
        )
    load_weights(model, state["model"], run_dir)
    for saved, group in zip(
        state["optimizer"]["param_groups"], optimizer.param_groups, strict=False
    ):
        saved["fused"] = group.get("fused")  # a checkpoint from before fused kernels keeps them
    optimizer.load_state_dict(state["optimizer"])
    if "observer" in state and hasattr(observer, "load_state_dict"):
        observer.load_state_dict(state["observer"])
    random_state = RandomState(state["rng_torch"], state["rng_augment"], list(state["rng_cuda"]))
    return Position(**state["position"]), random_state
