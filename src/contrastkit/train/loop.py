"""The step loop behind :func:`contrastkit.train.fit`: steps, logging, checkpoints, stops."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn
from tqdm import tqdm

from contrastkit.data.batches import BatchOrder
from contrastkit.distributed import rank, world_size
from contrastkit.methods.base import MethodOutput
from contrastkit.train.config import TrainConfig
from contrastkit.train.gradcache import GradCache
from contrastkit.train.interrupt import StopRequest
from contrastkit.train.metrics_log import MetricsLog
from contrastkit.train.optim import set_learning_rate
from contrastkit.train.schedule import warmup_cosine
from contrastkit.train.state import Position, RandomState, write_checkpoint


@runtime_checkable
class BatchSource(Protocol):
    """Turns sample indices into a method's batch (for images: augmented views), and owns the
    order in which the samples come: ``batch_order`` gives this process's
    :class:`~contrastkit.data.batches.BatchOrder` (uniformly shuffled:
    :class:`~contrastkit.data.batches.ShuffledSource`; length-grouped for text)."""

    def __len__(self) -> int: ...

    def __call__(
        self, indices: torch.Tensor, generator: torch.Generator, device: torch.device
    ) -> Any: ...

    def batch_order(
        self, batch_size: int, *, seed: int, rank: int = 0, world_size: int = 1
    ) -> BatchOrder: ...


class StepObserver(Protocol):
    """Called after every optimizer step with the step's last ``MethodOutput``.

    Returns metrics to log (an empty dict on steps it skips); metrics named in its optional
    ``display`` attribute also appear in the progress bar. An optional ``finish(step)``, called
    when training ends (not after Ctrl-C), returns metrics to log; ``state_dict()`` and
    ``load_state_dict(state)``, if present, save its state in checkpoints and restore it. The
    health monitor (:class:`contrastkit.eval.health.HealthMonitor`) is one.
    """

    def __call__(self, step: int, output: MethodOutput) -> dict[str, float]: ...


class TrainingDivergedError(RuntimeError):
    """The loss became non-finite; the last good checkpoint is kept."""


@dataclass
class FitResult:
    """What a call to :func:`fit` did.

    Attributes:
        steps: optimizer steps completed in total (including before a resume).
        losses: the loss of every step run by this call, in order.
        stopped: "completed", "max_steps", "time_budget" or "interrupted".
        run_dir: where the checkpoint and metrics live (None when not saving).
    """

    steps: int
    losses: list[float] = field(default_factory=list)
    stopped: str = "completed"
    run_dir: Path | None = None


def autocast_context(
    device: torch.device, precision: str
) -> contextlib.AbstractContextManager[Any]:
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    if not use_bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _step_batches(
    order: BatchOrder, position: Position, config: TrainConfig
) -> Iterator[tuple[Position, list[torch.Tensor]]]:
    """Yield (position after the step, its micro-batches) from ``position`` to the end."""
    per_epoch = order.batches_per_epoch // config.accumulate * config.accumulate
    step, epoch, start = position.step, position.epoch, position.batch_in_epoch
    while epoch < config.epochs:
        batches = order.epoch_batches(epoch, start_batch=start)
        for first in range(start, per_epoch, config.accumulate):
            group = [next(batches) for _ in range(config.accumulate)]
            step += 1
            done = first + config.accumulate
            yield (
                (Position(step, epoch, done) if done < per_epoch else Position(step, epoch + 1, 0)),
                group,
            )
        epoch, start = epoch + 1, 0


class TrainingLoop:
    """The state one call to :func:`fit` threads through its steps."""

    def __init__(
        self,
        method: nn.Module,
        data: BatchSource,
        config: TrainConfig,
        optimizer: torch.optim.Optimizer,
        generator: torch.Generator,
        device: torch.device,
        run_dir: Path | None,
        steps_per_epoch: int,
    ) -> None:
        self.method, self.data, self.config = method, data, config
        self.model: nn.Module = method  # what forward runs: the method, or its DDP wrapper
        self.optimizer, self.generator, self.device = optimizer, generator, device
        self.run_dir = run_dir
        self.total_steps = config.epochs * steps_per_epoch
        self.warmup_steps = min(self.total_steps, round(config.warmup_epochs * steps_per_epoch))
        self.is_main = rank() == 0
        self.saved_step: int | None = None
        self.observer: StepObserver | None = None
        self.grad_cache = (  # calls the method itself (not a DDP wrapper); averages gradients
            GradCache(
                method,
                micro_batch_size=config.micro_batch_size,
                autocast=lambda: autocast_context(device, config.precision),
            )
            if config.micro_batch_size is not None
            else None
        )

    def run(self, order: BatchOrder, position: Position) -> FitResult:
        log = (
            MetricsLog(self.run_dir, resume_step=position.step or None, enabled=self._saves())
            if self.run_dir is not None
            else None
        )
        result = FitResult(steps=position.step, run_dir=self.run_dir)
        planned = self.total_steps
        if self.config.max_steps is not None:
            planned = min(planned, self.config.max_steps)
        bar = tqdm(
            total=planned,
            initial=position.step,
            unit="step",
            dynamic_ncols=True,
            disable=not (self.config.progress_bar and self.is_main),
        )
        start = time.perf_counter()
        with StopRequest() as stop, bar:
            for after, group in _step_batches(order, position, self.config):
                if self.config.max_steps is not None and position.step >= self.config.max_steps:
                    result.stopped = "max_steps"  # a rerun of a run stopped by max_steps
                    break
                tick = time.perf_counter()
                loss, logs, output = self._step(after.step - 1, group)
                if not math.isfinite(loss):
                    self._diverged(after.step, loss)
                position = after
                observed = self.observer(position.step, output) if self.observer else {}
                result.losses.append(loss)
                result.steps = position.step
                rate = sum(len(g) for g in group) * world_size() / (time.perf_counter() - tick)
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4f}", ex_s=f"{rate:.0f}", **self._shown(observed))
                self._log(log, position, loss, rate, {**logs, **observed}, bool(observed))
                result.stopped = self._should_stop(position, start, stop.requested)
                if (
                    result.stopped != "completed"
                    or position.step % self.config.checkpoint_every == 0
                ):
                    self._save(position)
                if result.stopped != "completed":
                    break
            else:
                self._save(position)
        if result.losses and result.stopped != "interrupted":
            self._finish(log, position)
        if log is not None:
            log.close()
        if result.stopped == "interrupted" and self.is_main:
            print(
                f"interrupted at step {position.step}: checkpoint saved in {self.run_dir}; "
                "run the same command again to resume"
            )
        return result

    def _finish(self, log: MetricsLog | None, position: Position) -> None:
        """Give the observer its end-of-training call (``finish(step)``), logging its metrics."""
        metrics: dict[str, float] = getattr(self.observer, "finish", lambda _: {})(position.step)
        if metrics and log is not None:
            log.write({"step": position.step, "epoch": position.epoch, **metrics})

    def _shown(self, observed: dict[str, float]) -> dict[str, str]:
        names = getattr(self.observer, "display", ())
        return {name: f"{observed[name]:.3g}" for name in names if name in observed}

    def _step(
        self, step: int, group: list[torch.Tensor]
    ) -> tuple[float, dict[str, float], MethodOutput]:
        lr = warmup_cosine(
            step,
            self.total_steps,
            base=self.config.lr,
            warmup_steps=self.warmup_steps,
            final=self.config.min_lr,
        )
        set_learning_rate(self.optimizer, lr)
        self.optimizer.zero_grad(set_to_none=True)
        self.method.train()
        total, logs = 0.0, {"lr": lr}
        for indices in group:
            batch = self.data(indices, self.generator, self.device)
            output = self._forward_backward(batch, step / self.total_steps, len(group))
            value = float(output.loss.detach())
            if not math.isfinite(value):
                return value, logs, output
            total += value / len(group)
            logs.update(output.logs)
        if self.grad_cache is not None:
            self.grad_cache.average_gradients()  # DDP's job when DDP runs the forward
        self.optimizer.step()
        return total, logs, output

    def _forward_backward(self, batch: Any, progress: float, accumulate: int) -> MethodOutput:
        """One batch's output; its loss / ``accumulate`` backpropagated unless non-finite."""
        if self.grad_cache is not None:
            return self.grad_cache.backward(batch, progress=progress, accumulate=accumulate)
        with autocast_context(self.device, self.config.precision):
            output: MethodOutput = self.model(batch, progress=progress)
        if math.isfinite(float(output.loss.detach())):
            (output.loss / accumulate).backward()
        return output

    def _log(
        self,
        log: MetricsLog | None,
        position: Position,
        loss: float,
        rate: float,
        logs: dict[str, float],
        observed: bool,
    ) -> None:
        last = position.step == self.total_steps
        due = last or observed or position.step % self.config.log_every == 0
        if log is None or not due:
            return
        log.write(
            {
                "step": position.step,
                "epoch": position.epoch,
                "loss": loss,
                "examples_per_s": rate,
                **logs,
            }
        )

    def _should_stop(self, position: Position, start: float, interrupted: bool) -> str:
        if position.step >= self.total_steps:
            return "completed"
        if interrupted:
            return "interrupted"
        if self.config.max_steps is not None and position.step >= self.config.max_steps:
            return "max_steps"
        budget = self.config.time_budget_s
        if budget is not None and time.perf_counter() - start >= budget:
            return "time_budget"
        return "completed"

    def _saves(self) -> bool:
        return self.run_dir is not None and self.is_main

    def _save(self, position: Position) -> None:
        if self._saves():
            assert self.run_dir is not None
            try:
                write_checkpoint(
                    self.run_dir,
                    self.method,
                    self.optimizer,
                    position,
                    RandomState.capture(self.generator),
                    self.config,
                    self.observer,
                )
            except FloatingPointError as error:  # finite loss, non-finite update
                self._diverged(position.step, float("nan"), cause=str(error))
            self.saved_step = position.step

    def _diverged(self, step: int, loss: float, cause: str = "") -> None:
        kept = (
            f"the last good checkpoint (step {self.saved_step}) is kept in {self.run_dir}"
            if self.saved_step is not None
            else "no checkpoint was written"
        )
        what = f"weights became non-finite ({cause})" if cause else f"loss became {loss}"
        raise TrainingDivergedError(
            f"{what} at step {step}; training stopped and {kept}. Likely causes: "
            "learning rate too high, temperature too low, or mixed-precision overflow; lower "
            "lr (--set lr=...) or raise temperature and run again"
        )
