"""Gradient caching: whole-batch gradients from sub-batches, dropout replayed, fit, errors, DDP.

Run as a script (``python test_gradcache.py OUT plain|cached``, alone or under torchrun), this
file is also the worker of the two-process check at the bottom.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from contrastkit.data import ShuffledSource
from contrastkit.encoders import Encoder
from contrastkit.methods import BYOL, MoCoV3, SimCLR, SupCon
from contrastkit.train import GradCache, TrainConfig, fit
from contrastkit.train.gradcache import RandomStates
from contrastkit.types import ViewBatch

HERE = Path(__file__).parent
PROGRESS = 0.3


def encoder(*, dropout: float = 0.3, batch_norm: bool = False) -> Encoder:
    """A small MLP encoder for (B, 3, 4, 4) views, with dropout and no batch statistics."""
    norm: nn.Module = nn.BatchNorm1d(32) if batch_norm else nn.Identity()
    body = nn.Sequential(
        nn.Flatten(), nn.Linear(48, 32), norm, nn.ReLU(), nn.Dropout(dropout), nn.Linear(32, 16)
    )
    return Encoder(body, feature_dim=16)


def build(name: str, *, dropout: float = 0.3, batch_norm: bool = False) -> nn.Module:
    torch.manual_seed(0)
    body = encoder(dropout=dropout, batch_norm=batch_norm)
    if name == "SimCLR":
        return SimCLR(body, proj_hidden_dim=32, proj_dim=8)
    if name == "MoCoV3":
        return MoCoV3(body, proj_dim=8, proj_hidden_dim=32, pred_hidden_dim=32)
    return SupCon(body, proj_hidden_dim=32, proj_dim=8)


def batch(seed: int = 1, size: int = 10) -> ViewBatch:
    generator = torch.Generator().manual_seed(seed)
    views = [torch.randn(size, 3, 4, 4, generator=generator) for _ in range(2)]
    return ViewBatch(views, labels=torch.arange(size) % 3)


def gradients(method: nn.Module) -> dict[str, Tensor]:
    return {n: p.grad.clone() for n, p in method.named_parameters() if p.grad is not None}


def assert_same_gradients(got: dict[str, Tensor], expected: dict[str, Tensor]) -> None:
    """Every gradient equal to 1e-4 relative (absolute floor: 1e-5 of the largest gradient,
    for gradients that are zero in exact arithmetic, such as a bias before BatchNorm)."""
    assert got.keys() == expected.keys()
    floor = 1e-5 * max(float(value.abs().max()) for value in expected.values())
    for name, value in expected.items():
        torch.testing.assert_close(got[name], value, rtol=1e-4, atol=floor, msg=name)


def cached_step(method: nn.Module, micro_batch_size: int, seed: int = 5) -> dict[str, Tensor]:
    torch.manual_seed(seed)
    GradCache(method, micro_batch_size=micro_batch_size).backward(batch(), progress=PROGRESS)
    return gradients(method)


def chunked_reference(method: nn.Module, micro_batch_size: int, seed: int = 5) -> dict[str, Tensor]:
    """The whole batch's loss, its encoder run on the same sub-batches with autograd graphs
    (so dropout draws the same masks in the same order as gradient caching's first pass)."""
    torch.manual_seed(seed)
    whole = batch()
    parts = [method.embed(sub, progress=PROGRESS) for sub in whole.split(micro_batch_size)]
    embeddings = tuple(torch.cat(pieces) for pieces in zip(*parts, strict=True))
    method.loss_from_embeddings(embeddings, whole, progress=PROGRESS).loss.backward()
    return gradients(method)


METHODS = ["SimCLR", "MoCoV3", "SupCon"]


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("micro_batch_size", [1, 3, 5])
def test_gradients_equal_the_whole_batch_forward(name: str, micro_batch_size: int) -> None:
    """Without dropout: equal to ``method(batch).loss.backward()`` (dividing sizes or not)."""
    method = build(name, dropout=0.0)
    plain, cached = method, copy.deepcopy(method)
    plain(batch(), progress=PROGRESS).loss.backward()
    assert_same_gradients(cached_step(cached, micro_batch_size), gradients(plain))
    for (key, a), b in zip(plain.state_dict().items(), cached.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=key)  # MoCo v3's EMA: once, like a plain step


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("micro_batch_size", [4, 5])
def test_gradients_with_dropout_equal_the_whole_batch_loss(
    name: str, micro_batch_size: int
) -> None:
    method = build(name)
    reference = chunked_reference(copy.deepcopy(method), micro_batch_size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no replay warning: the replay is exact
        got = cached_step(method, micro_batch_size)
    assert_same_gradients(got, reference)


def test_dropout_is_replayed_a_replay_without_the_random_state_would_be_wrong(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    method = build("SimCLR")
    reference = chunked_reference(copy.deepcopy(method), 4)
    monkeypatch.setattr(RandomStates, "restore", lambda self: None)
    with pytest.warns(UserWarning, match="other values when replayed"):
        got = cached_step(method, 4)
    with pytest.raises(AssertionError):
        assert_same_gradients(got, reference)


def test_random_stream_after_a_step_does_not_depend_on_the_replay() -> None:
    method = build("SimCLR")
    torch.manual_seed(5)
    GradCache(method, micro_batch_size=4).backward(batch(), progress=PROGRESS)
    after_step = torch.rand(3)
    torch.manual_seed(5)
    with torch.no_grad():  # the first pass alone draws what the whole step draws
        for sub in batch().split(4):
            method.embed(sub, progress=PROGRESS)
    torch.testing.assert_close(after_step, torch.rand(3))


def test_batch_norm_in_the_encoder_is_reported_and_counted_once_per_sub_batch() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # BatchNorm in the head runs on the whole batch: silent
        GradCache(build("SimCLR"), micro_batch_size=4).backward(batch(), progress=PROGRESS)
    method = build("SimCLR", batch_norm=True)
    with pytest.warns(UserWarning, match=r"BatchNorm in training mode \(encoder.module.2\)"):
        GradCache(method, micro_batch_size=4).backward(batch(), progress=PROGRESS)
    norm = method.encoder.module[2]
    assert int(norm.num_batches_tracked) == 3 * 2  # 3 sub-batches x 2 views, not replayed


def test_ddp_style_gradient_average_is_a_no_op_in_one_process() -> None:
    method = build("SimCLR")
    engine = GradCache(method, micro_batch_size=4)
    engine.backward(batch(), progress=PROGRESS)
    before = gradients(method)
    engine.average_gradients()
    assert_same_gradients(gradients(method), before)


# ------------------------------------------------------------------------------- training loop
class NoisyViews(ShuffledSource):
    """Two views of fixed data, with noise from the trainer's augmentation generator."""

    def __init__(self) -> None:
        self.data = torch.randn(40, 3, 4, 4, generator=torch.Generator().manual_seed(3))

    def __len__(self) -> int:
        return len(self.data)

    def __call__(
        self, indices: Tensor, generator: torch.Generator, device: torch.device
    ) -> ViewBatch:
        x = self.data[indices]
        noise = torch.randn((2, *x.shape), generator=generator)
        return ViewBatch([x + 0.3 * noise[0], x + 0.3 * noise[1]], labels=indices % 3)


def train(name: str, **overrides: object) -> list[float]:
    settings = {"epochs": 2, "batch_size": 8, "lr": 0.1, "progress_bar": False, "device": "cpu"}
    config = TrainConfig(**{**settings, **overrides})  # type: ignore[arg-type]
    return fit(build(name, dropout=0.0), NoisyViews(), config).losses


@pytest.mark.parametrize(
    ("name", "options"),
    [("SimCLR", {}), ("MoCoV3", {}), ("SupCon", {"accumulate": 2, "optimizer": "adamw"})],
)
def test_fit_with_micro_batches_repeats_the_losses_step_by_step(name: str, options: dict) -> None:
    plain = train(name, **options)
    cached = train(name, micro_batch_size=3, **options)  # 8 = 3 + 3 + 2
    assert len(cached) == len(plain) == (10 if "accumulate" not in options else 4)
    assert cached == pytest.approx(plain, rel=1e-4)


def test_fit_with_micro_batches_under_bfloat16_autocast() -> None:
    plain = train("SimCLR", precision="bf16", max_steps=3)
    cached = train("SimCLR", precision="bf16", max_steps=3, micro_batch_size=3)
    assert cached == pytest.approx(plain, rel=2e-2)  # bfloat16 rounding, not exact


def test_recipes_take_micro_batch_size_as_a_flat_key() -> None:
    from contrastkit.recipe import load_recipe

    recipe = load_recipe(
        HERE.parents[1] / "recipes" / "simclr_digits.toml", ["micro_batch_size=16"]
    )
    assert recipe.train.micro_batch_size == 16


# --------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("value", "match"),
    [(0, "micro_batch_size must be an integer >= 1"), (-2, "must be an integer >= 1"),
     (2.5, "must be an integer >= 1"), ("16", "must be an integer >= 1"),
     (9, r"micro_batch_size \(9\) exceeds batch_size \(8\).*at most batch_size")],
)  # fmt: skip
def test_bad_micro_batch_size_is_rejected_with_the_fix(value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TrainConfig(batch_size=8, micro_batch_size=value)  # type: ignore[arg-type]


def test_a_method_without_the_protocol_is_named_with_those_that_have_it() -> None:
    torch.manual_seed(0)
    byol = BYOL(encoder(), proj_hidden_dim=16, proj_dim=8, pred_hidden_dim=16)
    config = TrainConfig(epochs=1, batch_size=8, micro_batch_size=4, device="cpu")
    with pytest.raises(
        ValueError, match=r"BYOL has no such split\. Methods that have it: "
    ) as error:
        fit(byol, NoisyViews(), config)
    assert all(name in str(error.value) for name in METHODS)
    with pytest.raises(ValueError, match="micro_batch_size=4"):
        GradCache(byol, micro_batch_size=4)


def test_a_batch_without_split_is_rejected() -> None:
    engine = GradCache(build("SimCLR"), micro_batch_size=4)
    with pytest.raises(ValueError, match="no split"):
        engine.backward(tuple(batch().views), progress=PROGRESS)


# ------------------------------------------------------------------------------ two processes
def ddp_worker(out: str, mode: str) -> None:
    """SimCLR (no batch statistics in the encoder) on digits mirror views; writes the losses."""
    from ddp_worker import GLOBAL_BATCH, MirrorViews

    from contrastkit.distributed import init_from_env, rank, world_size

    init_from_env()
    torch.manual_seed(0)
    body = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten()
    )
    method = SimCLR(
        Encoder(body, feature_dim=128),
        proj_hidden_dim=32,
        proj_dim=16,
        temperature=0.2,
        gather_distributed=True,
    )
    batch_size = GLOBAL_BATCH // world_size()
    config = TrainConfig(
        epochs=2,
        batch_size=batch_size,
        accumulate=2,
        micro_batch_size=5 if mode == "cached" else None,  # 32 = 6 x 5 + 2
        lr=0.05,
        progress_bar=False,
        device="cpu",
        max_steps=6,
    )
    result = fit(method, MirrorViews(), config)
    Path(f"{out}.rank{rank()}.json").write_text(json.dumps(result.losses))


@pytest.mark.slow
def test_two_processes_with_gradient_caching_repeat_one_process_without(tmp_path: Path) -> None:
    from test_ddp import _torchrun, _why

    single = subprocess.run(
        [sys.executable, __file__, str(tmp_path / "one"), "plain"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert single.returncode == 0, _why(single)
    done = _torchrun(__file__, str(tmp_path / "two"), "cached")
    assert done.returncode == 0, _why(done)
    reference = json.loads((tmp_path / "one.rank0.json").read_text())
    ranks = [json.loads((tmp_path / f"two.rank{r}.json").read_text()) for r in range(2)]
    assert len(reference) == len(ranks[0]) == 6
    averaged = [(a + b) / 2 for a, b in zip(*ranks, strict=True)]
    assert averaged == pytest.approx(reference, rel=1e-4)


if __name__ == "__main__":
    ddp_worker(sys.argv[1], sys.argv[2])
