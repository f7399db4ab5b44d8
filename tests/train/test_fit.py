"""The training loop: exact resume (in-process and after a kill), divergence, Ctrl-C, errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tiny_run import NoiseSource, TinyMethod, config

from contrastkit.data import BatchOrder
from contrastkit.train import (
    TrainingDivergedError,
    build_optimizer,
    fit,
    load_checkpoint,
    planned_steps,
    read_metrics,
)
from contrastkit.train.state import read_checkpoint

HERE = Path(__file__).parent


def _losses_by_step(run_dir: Path) -> dict[int, float]:
    return {record["step"]: record["loss"] for record in read_metrics(run_dir)}


def test_resume_in_process_repeats_every_loss(tmp_path: Path) -> None:
    full = fit(TinyMethod(), NoiseSource(), config(), run_dir=tmp_path / "full")
    first = fit(TinyMethod(), NoiseSource(), config(max_steps=7), run_dir=tmp_path / "split")
    assert first.stopped == "max_steps" and first.steps == 7
    second = fit(TinyMethod(), NoiseSource(), config(), run_dir=tmp_path / "split")
    assert full.steps == 20 and second.steps == 20
    assert first.losses + second.losses == full.losses  # exact, step for step
    assert _losses_by_step(tmp_path / "split") == _losses_by_step(tmp_path / "full")


def test_killed_run_resumes_exactly(tmp_path: Path) -> None:
    reference = fit(TinyMethod(), NoiseSource(), config(), run_dir=tmp_path / "reference")
    run_dir = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, str(HERE / "tiny_run.py"), str(run_dir)])
    deadline = time.time() + 120
    while time.time() < deadline:
        checkpoint = run_dir / "checkpoint.pt"
        if checkpoint.exists() and load_checkpoint(checkpoint)["position"]["step"] >= 4:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = load_checkpoint(run_dir / "checkpoint.pt")["position"]["step"]
    assert 4 <= killed_at < 20, "the kill must land mid-run"
    resumed = fit(TinyMethod(), NoiseSource(), config(checkpoint_every=1), run_dir=run_dir)
    assert resumed.losses == reference.losses[killed_at:]
    assert _losses_by_step(run_dir) == _losses_by_step(tmp_path / "reference")


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    method = TinyMethod()
    method.nan_at_step = 6
    with pytest.raises(TrainingDivergedError, match=r"nan at step 6.*step 4"):
        fit(method, NoiseSource(), config(), run_dir=tmp_path)
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["position"]["step"] == 4
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_ctrl_c_saves_at_a_step_boundary_and_resumes_exactly(tmp_path: Path) -> None:
    class InterruptingSource(NoiseSource):
        calls = 0

        def __call__(self, indices, generator, device):  # type: ignore[no-untyped-def]
            self.calls += 1
            if self.calls == 5:
                os.kill(os.getpid(), signal.SIGINT)
            return super().__call__(indices, generator, device)

    reference = fit(TinyMethod(), NoiseSource(), config())
    first = fit(TinyMethod(), InterruptingSource(), config(), run_dir=tmp_path)
    assert first.stopped == "interrupted" and first.steps == 5
    second = fit(TinyMethod(), NoiseSource(), config(), run_dir=tmp_path)
    assert first.losses + second.losses == reference.losses


def test_accumulation_matches_a_larger_batch_for_a_per_sample_loss() -> None:
    class Regression(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.linear = torch.nn.Linear(6, 1)

        def forward(self, batch, *, progress):  # type: ignore[no-untyped-def]
            from contrastkit.methods.base import MethodOutput

            x, _ = batch
            loss = (self.linear(x) - x.sum(1, keepdim=True)).pow(2).mean()
            return MethodOutput(loss, (x, x))

        def encode(self, x):  # type: ignore[no-untyped-def]
            return self.linear(x)

    class Plain(NoiseSource):
        def __call__(self, indices, generator, device):  # type: ignore[no-untyped-def]
            return self.data[indices], self.data[indices]

    big, small = Regression(), Regression()
    fit(big, Plain(), config(epochs=1, batch_size=8, max_steps=1, warmup_epochs=0.0))
    fit(
        small, Plain(), config(epochs=1, batch_size=4, accumulate=2, max_steps=1, warmup_epochs=0.0)
    )
    torch.testing.assert_close(big.linear.weight, small.linear.weight)


def test_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch"):
        fit(TinyMethod(), NoiseSource(size=5), config())
    fit(TinyMethod(), NoiseSource(), config(max_steps=2), run_dir=tmp_path)
    with pytest.raises(ValueError, match="batch_size"):
        fit(TinyMethod(), NoiseSource(), config(batch_size=4), run_dir=tmp_path)


class InOrder(BatchOrder):
    """Samples in index order every epoch."""

    def permutation(self, epoch: int) -> torch.Tensor:
        return torch.arange(self.num_samples)


class SortedSource(NoiseSource):
    """Batches in sample order, the last partial batch kept; records what it is asked for."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.seen: list[list[int]] = []

    def batch_order(
        self, batch_size: int, *, seed: int, rank: int = 0, world_size: int = 1
    ) -> BatchOrder:
        return InOrder(len(self), batch_size, drop_last=False, rank=rank, world_size=world_size)

    def __call__(self, indices, generator, device):  # type: ignore[no-untyped-def]
        self.seen.append(indices.tolist())
        return super().__call__(indices, generator, device)


def test_the_source_decides_the_batch_order_and_the_planned_steps() -> None:
    source = SortedSource(size=20)  # batches of 8: [0..7], [8..15], [16..19]
    assert planned_steps(source, config(epochs=2)) == 6
    result = fit(TinyMethod(), source, config(epochs=2))
    assert result.steps == 6
    assert source.seen == 2 * [list(range(8)), list(range(8, 16)), list(range(16, 20))]


@pytest.mark.parametrize(
    ("overrides", "steps"),
    [({}, 20), ({"max_steps": 7}, 7), ({"max_steps": 50}, 20), ({"accumulate": 2}, 8)],
)
def test_planned_steps_are_the_steps_fit_runs(overrides: dict[str, int], steps: int) -> None:
    # 40 samples in shuffled batches of 8 (5 per epoch) for 4 epochs
    assert planned_steps(NoiseSource(), config(**overrides)) == steps
    assert fit(TinyMethod(), NoiseSource(), config(**overrides)).steps == steps


def test_a_source_without_a_batch_order_is_named() -> None:
    class Bare:
        def __len__(self) -> int:
            return 40

        def __call__(self, indices, generator, device):  # type: ignore[no-untyped-def]
            return NoiseSource()(indices, generator, device)

    with pytest.raises(ValueError, match=r"Bare is not a batch source.*batch_order"):
        fit(TinyMethod(), Bare(), config())  # type: ignore[arg-type]


def test_rerunning_a_run_stopped_by_max_steps_does_not_train_more(tmp_path: Path) -> None:
    first = fit(TinyMethod(), NoiseSource(), config(max_steps=3), run_dir=tmp_path)
    again = fit(TinyMethod(), NoiseSource(), config(max_steps=3), run_dir=tmp_path)
    assert first.steps == again.steps == 3 and again.losses == [] and again.stopped == "max_steps"
    last = fit(TinyMethod(), NoiseSource(), config(max_steps=20), run_dir=tmp_path)
    assert last.stopped == "completed" and last.steps == 20


def test_non_finite_weights_with_a_finite_loss_stop_as_divergence(tmp_path: Path) -> None:
    class Exploding(TinyMethod):
        def forward(self, batch, *, progress):  # type: ignore[no-untyped-def]
            output = super().forward(batch, progress=progress)
            if self.calls == 3:
                with torch.no_grad():
                    self.encoder[0].weight.fill_(float("inf"))
            return output

    with pytest.raises(TrainingDivergedError, match=r"non-finite .* at step 3.*step 2"):
        fit(Exploding(), NoiseSource(), config(checkpoint_every=1), run_dir=tmp_path)
    assert load_checkpoint(tmp_path / "checkpoint.pt")["position"]["step"] == 2


class CountingObserver:
    """A stateful observer: counts the steps it saw; its count is checkpointed."""

    def __init__(self) -> None:
        self.seen = 0

    def __call__(self, step: int, output: object) -> dict[str, float]:
        self.seen += 1
        return {}

    def state_dict(self) -> dict[str, int]:
        return {"seen": self.seen}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.seen = state["seen"]


def test_observer_state_is_checkpointed_and_restored(tmp_path: Path) -> None:
    first = CountingObserver()
    fit(TinyMethod(), NoiseSource(), config(max_steps=7), run_dir=tmp_path, observer=first)
    assert first.seen == 7 and load_checkpoint(tmp_path / "checkpoint.pt")["observer"] == {
        "seen": 7
    }
    resumed = CountingObserver()
    fit(TinyMethod(), NoiseSource(), config(), run_dir=tmp_path, observer=resumed)
    assert resumed.seen == 20  # 7 restored + 13 new steps


def test_resuming_a_checkpoint_saved_without_fused_kernels_keeps_them(tmp_path: Path) -> None:
    fit(TinyMethod(), NoiseSource(), config(max_steps=3), run_dir=tmp_path)
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    for group in state["optimizer"]["param_groups"]:
        group["fused"] = None  # as written before build_optimizer chose fused kernels
    torch.save(state, tmp_path / "checkpoint.pt")
    method = TinyMethod()
    optimizer = build_optimizer(method, "sgd", lr=0.1, weight_decay=0.0)
    read_checkpoint(tmp_path, method, optimizer, config(max_steps=3))
    assert all(group["fused"] for group in optimizer.param_groups)


class FinishingObserver:
    """Records the end-of-training call."""

    def __init__(self) -> None:
        self.finished: list[int] = []

    def __call__(self, step: int, output: object) -> dict[str, float]:
        return {}

    def finish(self, step: int) -> dict[str, float]:
        self.finished.append(step)
        return {"final_check": float(step)}


def test_observer_finish_runs_once_at_the_stop_and_is_logged(tmp_path: Path) -> None:
    observer = FinishingObserver()
    fit(TinyMethod(), NoiseSource(), config(max_steps=5), run_dir=tmp_path, observer=observer)
    assert observer.finished == [5]
    records = read_metrics(tmp_path)
    assert records[-1] == {"step": 5, "epoch": records[-2]["epoch"], "final_check": 5.0}
    again = FinishingObserver()  # a rerun past its max_steps runs no step: no second check
    fit(TinyMethod(), NoiseSource(), config(max_steps=5), run_dir=tmp_path, observer=again)
    assert again.finished == []
