"""Generic plumbing shared by the loss tests; every loop reference stays in its own test file."""

import math
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
import torch

RTOL, ATOL = 1e-5, 1e-7


def randn(*shape: int, seed: int) -> torch.Tensor:
    """Seeded standard-normal float64 tensor of the given shape."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def unit(row: list[float]) -> list[float]:
    """The row scaled to unit L2 norm, in plain floats."""
    norm = math.sqrt(sum(v * v for v in row))
    return [v / norm for v in row]


def unit_rows(x: torch.Tensor) -> list[list[float]]:
    """Rows of a 2-D tensor as unit-norm lists of floats."""
    return [unit(row) for row in x.tolist()]


def dot(u: list[float], v: list[float]) -> float:
    """Dot product of two equal-length float lists."""
    return sum(a * b for a, b in zip(u, v, strict=True))


def log_softmax(row: list[float], t: float) -> list[float]:
    """Numerically stable log_softmax(row / t), in plain floats."""
    x = [v / t for v in row]
    m = max(x)
    lse = m + math.log(sum(math.exp(v - m) for v in x))
    return [v - lse for v in x]


def hadamard(n: int) -> torch.Tensor:
    """Sylvester Hadamard matrix of order n (a power of two), float64."""
    h = torch.ones(1, 1, dtype=torch.float64)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h


def close(out: torch.Tensor, ref: object, rtol: float = RTOL, atol: float = ATOL) -> None:
    """assert_close(out, ref as out's dtype) after checking the shapes agree."""
    ref_t = torch.as_tensor(ref, dtype=out.dtype)
    assert out.shape == ref_t.shape
    torch.testing.assert_close(out, ref_t, rtol=rtol, atol=atol)


def close_scalar(out: torch.Tensor, ref: object) -> None:
    """out is 0-d and equals ref within RTOL/ATOL."""
    assert out.dim() == 0
    close(out, ref)


def name_and(name: str, word: str) -> str:
    """Regex matching a message that mentions both name and word, in either order."""
    return rf"(?s)({name}.*{word}|{word}.*{name})"


def assert_names(err: pytest.ExceptionInfo, name: str, shape: Iterable[int] | None = None) -> None:
    """The error message names the argument as a word and, if given, shows its shape."""
    msg = str(err.value)
    assert re.search(rf"\b{name}\b", msg), msg
    if shape is not None:
        assert re.search(r"(,\s*|\s*x\s*)".join(str(s) for s in shape), msg), msg


def assert_raises_naming(
    call: Callable[[], object],
    name: str,
    shape: Iterable[int] | None = None,
    match: str | None = None,
) -> None:
    """call() raises a ValueError (matching match, if given) that assert_names accepts."""
    with pytest.raises(ValueError, match=match) as err:
        call()
    assert_names(err, name, shape)


def assert_mismatch_names(fn: Callable[..., object], name: str) -> None:
    """fn((4, 6), (4, 5) or (3, 6)) raises a ValueError naming the second argument and its shape."""
    first = randn(4, 6, seed=0)
    for shape in ((4, 5), (3, 6)):
        assert_raises_naming(lambda s=shape: fn(first, randn(*s, seed=1)), name, shape)


def assert_shape_error(call: Callable[[], object], name: str, shape: tuple[int, ...]) -> None:
    """call() raises a ValueError matching name whose message shows shape as "a, b"."""
    with pytest.raises(ValueError, match=name) as excinfo:
        call()
    assert re.search(r",\s*".join(str(s) for s in shape), str(excinfo.value))


def assert_descends(
    loss_fn: Callable[[], torch.Tensor],
    params: list[torch.Tensor],
    lr: float = 0.05,
    steps: int = 20,
) -> float:
    """Adam on params for steps lowers loss_fn(); returns the final loss."""
    optimizer = torch.optim.Adam(params, lr=lr)
    with torch.no_grad():
        start = loss_fn().item()
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn().backward()
        optimizer.step()
    with torch.no_grad():
        end = loss_fn().item()
    assert end < start
    return end


def assert_gradcheck(fn: Callable[..., torch.Tensor], *inputs: torch.Tensor) -> None:
    """torch.autograd.gradcheck passes for fn at inputs, each made to require grad."""
    assert torch.autograd.gradcheck(fn, tuple(x.requires_grad_() for x in inputs))


def two_process_runs(worker: str, folder: Path) -> tuple[list[dict], dict]:
    """Run the ``worker`` script on 2 gloo processes and alone; return what each saved.

    The worker takes its output path as ``sys.argv[1]`` and ``torch.save``s a dict there.
    Returns ``([rank 0's, rank 1's], the single process's)``.
    """
    script = folder / "worker.py"
    script.write_text(worker)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    base = {**os.environ, "OMP_NUM_THREADS": "1"}
    ddp = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WORLD_SIZE": "2"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(folder / f"rank{r}.pt")],
            env={**base, **ddp, "RANK": str(r), "GLOO_SOCKET_IFNAME": "lo"},
        )
        for r in range(2)
    ]
    procs.append(subprocess.Popen([sys.executable, str(script), str(folder / "single.pt")]))
    assert [proc.wait(timeout=120) for proc in procs] == [0, 0, 0]
    load = lambda name: torch.load(folder / name, weights_only=True)  # noqa: E731
    return [load("rank0.pt"), load("rank1.pt")], load("single.pt")
