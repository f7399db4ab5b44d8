"""Contrastive losses against the peers a user would pick: time and peak memory, one run.

What is measured
    Forward + backward of one loss on random fp32 embeddings (D=128, CPU, ``--threads``
    threads, 2 by default), for N in {256, 1024, 4096, 16384}: the median over ``--repeats``
    runs after one warm-up run, and the peak extra memory. Every (implementation, N) runs in a
    fresh child process, under an address-space limit (``RLIMIT_AS`` = the child's size after
    set-up plus ``--memory-gib``), so an implementation that needs more fails with "out of
    memory" instead of waking the OOM killer; the peak is the child's ``ru_maxrss`` after the
    runs minus the same after imports and input creation. Inputs are the same for every
    implementation of a loss (same seed), and each row reports its loss value's relative
    difference to ours, to show the same quantity is computed.

    * NT-Xent, temperature 0.1, two views of N: lightly ``NTXentLoss``,
      pytorch-metric-learning ``NTXentLoss`` (on ``cat(z_a, z_b)`` with labels ``i, i``).
    * SupCon, temperature 0.1, two views of N, 100 classes: pytorch-metric-learning
      ``SupConLoss`` (on the 2N view-embeddings with their labels).
    * CLIP, learnable logit scale 1/0.07: open_clip ``ClipLoss`` (on normalized features).
    * SigLIP, learnable scale 10 and bias -10: open_clip ``SigLipLoss`` (normalized features).
    * InfoNCE, temperature 0.05 (sentence-transformers' scale 20), N queries and N keys:
      sentence-transformers ``CachedMultipleNegativesRankingLoss``: its loss stage,
      ``calculate_loss([[q], [k]], with_backward=True)``, which computes the loss in row chunks
      of ``mini_batch_size`` (= our ``--chunk``) and backpropagates each chunk into the
      embeddings; fed raw embeddings it is the embedding half of GradCache, which is what ours
      replaces (its model re-encoding half is not a loss cost). And
      ``MultipleNegativesRankingLoss.compute_loss_from_embeddings`` (untiled).

    Ours is ``contrastkit.losses`` with ``chunk_size=--chunk`` (tiled) and ``None`` (untiled).
    Ratios are to our tiled loss's time; "x bound" is the time over the matmul bound: the
    FLOPs of the forward similarity matmul and the two gradient matmuls (3 x 2 x rows x cols x
    D; rows = cols = 2N for NT-Xent and SupCon, N for the others) at the fp32 GEMM rate
    measured in the same child. As in ``loss_scaling.py``, children run with
    ``OMP_WAIT_POLICY=PASSIVE`` unless a policy is set (on cores shared with other jobs,
    spin-waiting makes every small parallel operation wait for a descheduled thread).

Usage
    python benchmarks/speed/losses_vs_peers.py [--sizes 256 1024 4096 16384] [--chunk 512]
        [--repeats 3] [--threads 2] [--memory-gib 10] [--only NT-Xent ...] [--out results.json]
        [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import run_record, set_up, write_results
from loss_scaling import bound_seconds, child_environment, child_measure, run_child

from contrastkit import losses

Loss = Callable[[dict[str, Tensor], dict[str, Any]], Tensor | None]
# family -> (rows and columns of its similarity matrix per N, {implementation: loss})
FAMILIES: dict[str, tuple[int, dict[str, Loss]]] = {}


def family(name: str, factor: int) -> Callable[[Loss], Loss]:
    """Register an implementation under ``family/implementation``; see FAMILIES."""

    def register(fn: Loss) -> Loss:
        fam, impl = name.split("/")
        FAMILIES.setdefault(fam, (factor, {}))[1][impl] = fn
        return fn

    return register


# ---------------------------------------------------------------------- NT-Xent (2N x 2N)


@family("NT-Xent/contrastkit tiled", 2)
def _nt_xent_tiled(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    return losses.nt_xent(x["a"], x["b"], temperature=0.1, chunk_size=o["chunk"])


@family("NT-Xent/contrastkit untiled", 2)
def _nt_xent(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    return losses.nt_xent(x["a"], x["b"], temperature=0.1)


@family("NT-Xent/lightly NTXentLoss", 2)
def _lightly(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    from lightly.loss import NTXentLoss

    return NTXentLoss(temperature=0.1)(x["a"], x["b"])  # type: ignore[no-any-return]


@family("NT-Xent/pytorch-metric-learning NTXentLoss", 2)
def _pml_nt_xent(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    from pytorch_metric_learning.losses import NTXentLoss

    index = torch.arange(x["a"].shape[0])
    embeddings, labels = torch.cat([x["a"], x["b"]]), torch.cat([index, index])
    return NTXentLoss(temperature=0.1)(embeddings, labels)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- SupCon (2N x 2N)


@family("SupCon/contrastkit tiled", 2)
def _supcon_tiled(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    views = torch.stack([x["a"], x["b"]], dim=1)
    return losses.supcon(views, x["labels"], temperature=0.1, chunk_size=o["chunk"])


@family("SupCon/contrastkit untiled", 2)
def _supcon(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    return losses.supcon(torch.stack([x["a"], x["b"]], dim=1), x["labels"], temperature=0.1)


@family("SupCon/pytorch-metric-learning SupConLoss", 2)
def _pml_supcon(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    from pytorch_metric_learning.losses import SupConLoss

    embeddings = torch.cat([x["a"], x["b"]])
    labels = torch.cat([x["labels"], x["labels"]])
    return SupConLoss(temperature=0.1)(embeddings, labels)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- CLIP, SigLIP (N x N)


@family("CLIP/contrastkit tiled", 1)
def _clip_tiled(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    return losses.clip_loss(x["a"], x["b"], logit_scale=x["scale"], chunk_size=o["chunk"])


@family("CLIP/contrastkit untiled", 1)
def _clip(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    return losses.clip_loss(x["a"], x["b"], logit_scale=x["scale"])


@family("CLIP/open_clip ClipLoss", 1)
def _open_clip(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    from open_clip.loss import ClipLoss

    images, texts = F.normalize(x["a"], dim=1), F.normalize(x["b"], dim=1)
    return ClipLoss()(images, texts, x["scale"])  # type: ignore[no-any-return]


@family("SigLIP/contrastkit tiled", 1)
def _siglip_tiled(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    return losses.siglip_loss(
        x["a"], x["b"], logit_scale=x["sig_scale"], logit_bias=x["bias"], chunk_size=o["chunk"]
    )


@family("SigLIP/contrastkit untiled", 1)
def _siglip(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    return losses.siglip_loss(x["a"], x["b"], logit_scale=x["sig_scale"], logit_bias=x["bias"])


@family("SigLIP/open_clip SigLipLoss", 1)
def _open_clip_siglip(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    from open_clip.loss import SigLipLoss

    images, texts = F.normalize(x["a"], dim=1), F.normalize(x["b"], dim=1)
    return SigLipLoss()(images, texts, x["sig_scale"], x["bias"])  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- InfoNCE (N x N)


@family("InfoNCE/contrastkit tiled", 1)
def _info_nce_tiled(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    return losses.info_nce(x["a"], x["b"], temperature=0.05, chunk_size=o["chunk"])


@family("InfoNCE/contrastkit untiled", 1)
def _info_nce(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    return losses.info_nce(x["a"], x["b"], temperature=0.05)


def _identity_model() -> torch.nn.Module:
    """sentence-transformers' losses want a model; the embeddings are given, so: identity."""
    return torch.nn.Sequential(torch.nn.Identity())


@family("InfoNCE/sentence-transformers CachedMNRL (loss stage)", 1)
def _cached_mnrl(x: dict[str, Tensor], o: dict[str, Any]) -> None:
    from sentence_transformers.sentence_transformer.losses import (
        CachedMultipleNegativesRankingLoss,
    )

    loss = CachedMultipleNegativesRankingLoss(
        _identity_model(), scale=20.0, mini_batch_size=o["chunk"]
    )
    value = loss.calculate_loss([[x["a"]], [x["b"]]], None, with_backward=True)
    o["value"] = float(value)  # already backpropagated, chunk by chunk
    return None


@family("InfoNCE/sentence-transformers MNRL", 1)
def _mnrl(x: dict[str, Tensor], o: dict[str, Any]) -> Tensor:
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    loss = MultipleNegativesRankingLoss(_identity_model(), scale=20.0)
    return loss.compute_loss_from_embeddings([x["a"], x["b"]], None)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- running


def inputs(n: int, dim: int, seed: int) -> dict[str, Tensor]:
    """The same leaves for every implementation of every loss at this N."""
    generator = torch.Generator().manual_seed(seed)
    leaves = {
        "a": torch.randn(n, dim, generator=generator),
        "b": torch.randn(n, dim, generator=generator),
        "scale": torch.tensor(1 / 0.07),
        "sig_scale": torch.tensor(10.0),
        "bias": torch.tensor(-10.0),
    }
    x = {k: v.requires_grad_() for k, v in leaves.items()}
    x["labels"] = torch.randint(0, 100, (n,), generator=generator)
    return x


def build_step(spec: dict[str, Any]) -> Callable[[], None]:
    """In the child: the forward + backward step of one implementation at one N."""
    fam, impl = spec["impl"].split("/")
    loss_fn = FAMILIES[fam][1][impl]
    options: dict[str, Any] = {"chunk": spec["chunk"]}
    loss_fn(inputs(4, spec["dim"], 1), options)  # imports the peer before the memory baseline
    x = inputs(spec["n"], spec["dim"], spec.get("seed", 0))

    def step() -> None:
        for leaf in x.values():
            leaf.grad = None
        loss = loss_fn(x, options)
        if loss is not None:
            loss.backward()
            options["value"] = loss.item()
        step.value = options["value"]  # type: ignore[attr-defined]

    return step


def measure(args: argparse.Namespace, fam: str, impl: str, n: int) -> dict[str, Any]:
    factor = FAMILIES[fam][0]
    spec = {
        "impl": f"{fam}/{impl}",
        "n": n,
        "dim": args.dim,
        "chunk": args.chunk,
        "threads": args.threads,
        "repeats": args.repeats,
        "memory_gib": args.memory_gib,
    }
    record = run_child(__file__, spec, args.timeout)
    if record.get("status") == "ok":
        rows = factor * n
        record["bound_s"] = bound_seconds(rows, rows, args.dim, record["gemm_gflops"])
        record["ratio_to_bound"] = record["seconds"] / record["bound_s"]
    return record


def compare(rows: list[dict[str, Any]]) -> None:
    """Add each row's time ratio and loss difference to ours tiled at the same loss and N."""
    for row in rows:
        ours = next(
            r
            for r in rows
            if (r["loss"], r["n"], r["impl"]) == (row["loss"], row["n"], "contrastkit tiled")
        )
        if row["status"] == "ok" and ours["status"] == "ok":
            row["time_vs_ours_tiled"] = row["seconds"] / ours["seconds"]
            row["value_rel_diff"] = abs(row["value"] - ours["value"]) / abs(ours["value"])


def table(results: dict[str, Any]) -> str:
    lines = [
        "| loss | N | implementation | median s | vs ours tiled | x bound | peak MiB | loss diff |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results["rows"]:
        head = f"| {r['loss']} | {r['n']:,} | {r['impl']} |"
        if r["status"] != "ok":
            lines.append(f"{head} {r['status']} | | | | |")
            continue
        lines.append(
            f"{head} {r['seconds']:.3g} | {r.get('time_vs_ours_tiled', float('nan')):.2f}x | "
            f"{r['ratio_to_bound']:.2f} | {r['peak_extra_mib']:,.0f} | "
            f"{r.get('value_rel_diff', float('nan')):.0e} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 4096, 16384])
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--chunk", type=int, default=512, help="our chunk_size and CachedMNRL's")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (median reported)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-gib", type=float, default=10.0, help="address space per child")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per child")
    parser.add_argument("--only", nargs="+", choices=sorted(FAMILIES), help="these losses only")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--quick", action="store_true", help="smoke test: N 32, D 16, 1 repeat")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.dim, args.chunk, args.repeats = [32], 16, 8, 1
    if min(*args.sizes, args.dim, args.chunk, args.repeats, args.threads) < 1:
        parser.error("--sizes, --dim, --chunk, --repeats and --threads must be >= 1")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.child is not None:
        print(json.dumps(child_measure(json.loads(args.child), build_step)))
        return {}
    set_up(args.threads, 0)
    rows = []
    for fam in args.only or list(FAMILIES):
        for n in sorted(args.sizes):
            for impl in FAMILIES[fam][1]:
                record = measure(args, fam, impl, n)
                rows.append({"loss": fam, "n": n, "impl": impl, **record})
                print(f"{fam} N={n} {impl}: {record.get('status')}", flush=True)
    compare(rows)
    results: dict[str, Any] = {
        "benchmark": "losses_vs_peers",
        "dim": args.dim,
        "chunk_size": args.chunk,
        "threads": args.threads,
        "memory_gib_per_child": args.memory_gib,
        "omp_wait_policy": child_environment()["OMP_WAIT_POLICY"],
        "rows": rows,
        "run": run_record(__file__, argv, args.threads),
    }
    print(table(results))
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
