"""Every loss on 2 processes (gloo, CPU) equals the same loss on the whole batch in one process.

The processes each encode their share of the batch, compute the loss with
``gather_distributed=True`` and backpropagate; their parameter gradients are averaged as
DistributedDataParallel does. The averaged loss and gradients must equal those of one process
computing the loss on the whole batch (1e-5 relative, float64), for equal and unequal splits.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("distributed_worker.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_worker(out: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    return subprocess.Popen([sys.executable, str(WORKER), str(out)], env=full_env)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("distributed")
    port = str(_free_port())
    base = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WORLD_SIZE": "2"}
    procs = [
        _run_worker(tmp / f"rank{r}.pt", {**base, "RANK": str(r), "GLOO_SOCKET_IFNAME": "lo"})
        for r in range(2)
    ]
    procs.append(_run_worker(tmp / "single.pt", {}))
    codes = [proc.wait(timeout=300) for proc in procs]
    assert codes == [0, 0, 0], f"worker exit codes {codes}"
    load = lambda name: torch.load(tmp / name, weights_only=True)  # noqa: E731
    return {"ranks": [load("rank0.pt"), load("rank1.pt")], "single": load("single.pt")}


# The tiled losses (chunk_size set): the same check, over blocks of the similarity matrix.
TILED = (
    "nt_xent_tiled",
    "info_nce_tiled",
    "supcon_tiled",
    "dcl_tiled",
    "clip_tiled",
    "clip_labels_tiled",
    "siglip_tiled",
)

CASE_NAMES = [
    *(
        f"{name}/equal"
        for name in (
            "nt_xent",
            "info_nce",
            "supcon",
            "supcon_one_view",
            "dcl",
            "dclw",
            "debiased_nce",
            "hard_negative_nce",
            "clip",
            "clip_labels",
            "siglip",
            "negative_cosine",
            "barlow_twins",
            "vicreg",
            "swav",
            "dino",
            "matryoshka",
            "center",
            *TILED,
        )
    ),
    *(
        f"{name}/unequal"
        for name in (
            "nt_xent",
            "matryoshka",
            "info_nce",
            "supcon",
            "clip",
            "siglip",
            "barlow_twins",
            "swav",
            "center",
            *TILED,
        )
    ),
]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_two_processes_match_one(results: dict, case: str) -> None:
    single = results["single"][case]
    ranks = [r[case] for r in results["ranks"]]
    assert set(ranks[0]) == set(single), "the same parameters receive gradients"
    for key, expected in single.items():
        averaged = (ranks[0][key] + ranks[1][key]) / 2
        torch.testing.assert_close(averaged, expected, rtol=1e-5, atol=1e-9, msg=f"{case} {key}")
        assert expected.abs().sum() > 0 or key == "loss", f"{case}: {key} gradient is all zero"


def test_every_loss_is_covered() -> None:
    from contrastkit.losses import __all__ as exported

    classes = {name for name in exported if name.endswith("Loss")}
    covered = {
        "NTXentLoss",
        "InfoNCELoss",
        "SupConLoss",
        "DCLLoss",
        "DCLWLoss",
        "DebiasedNCELoss",
        "HardNegativeNCELoss",
        "CLIPLoss",
        "SigLIPLoss",
        "CoSENTLoss",
        "NegativeCosineLoss",
        "BarlowTwinsLoss",
        "VICRegLoss",
        "SwAVLoss",
        "DINOLoss",
        "MatryoshkaLoss",  # wrapping NTXentLoss
    }
    assert classes == covered
