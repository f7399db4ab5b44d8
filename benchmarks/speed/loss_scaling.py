"""Tiled NT-Xent at large batches: time and peak memory against the matmul bound, one run.

What is measured
    Forward + backward of ``contrastkit.losses.nt_xent`` (temperature 0.1) on two views of N
    random D=128 embeddings (fp32, CPU, ``--threads`` intra-op threads, 2 by default), for N
    from 1,024 to 65,536 pairs: the similarity matrix is 2N x 2N (131,072^2 at the top, 64 GiB
    in fp32). Each (loss, N) runs in a fresh child process:

    * time: median over ``--repeats`` runs after one warm-up run (sizes whose single run is
      expected to exceed ~20 s run once, without warm-up);
    * peak extra memory: the child's peak resident memory during the runs (``VmHWM``, reset to
      the current resident memory after imports and input creation by writing 5 to
      ``/proc/self/clear_refs``) minus its resident memory then (torch's CPU allocator is
      invisible to tracemalloc; where the reset is not allowed the number is an upper bound);
    * the matmul bound: the FLOPs of the forward similarity matmul plus the two gradient
      matmuls, 3 x 2 x (2N)^2 x D, at the fp32 GEMM rate measured in the same child right after
      the runs (best of 3 square 2048^3 matmuls, same threads). The tiled loss visits only the
      blocks on or above the diagonal (the matrix is symmetric), so it can come in under this
      bound.

    ``tiled`` is ``chunk_size=--chunk`` (512: the fastest of 256, 512 and 1,024 here);
    ``untiled`` is ``chunk_size=None``, tried at every N under an address-space limit
    (``RLIMIT_AS`` = the child's size after set-up plus ``--memory-gib``), so that a size that
    does not fit fails with "out of memory" instead of waking the OOM killer on a shared
    machine.

    The children run with ``OMP_WAIT_POLICY=PASSIVE`` unless it is set: with OpenMP's default
    spin-waiting, on a machine whose cores are shared with other jobs, every parallel
    operation waits for a descheduled partner thread; the tiled loss runs many small
    operations and measured 2x to 25x slower that way at 2 threads, against 0.9x to 1.0x of the
    matmul bound with passive waiting, in the same minutes.

Issue targets (D=128, fp32, 2 threads)
    * tiled forward + backward at most 1.3x the matmul bound at N >= 4,096;
    * tiled peak extra memory under 1 GiB at N = 65,536.

Usage
    python benchmarks/speed/loss_scaling.py [--sizes 1024 2048 ...] [--chunk 512]
        [--repeats 3] [--threads 2] [--memory-gib 10] [--out results.json] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import run_record, set_up, write_results

Step = Callable[[], None]
TARGETS = {"max_ratio_to_bound_from_4096": 1.3, "max_peak_gib_at_65536": 1.0}
LONG_RUN_S = 20.0  # a size expected to take longer than this runs once, without warm-up


# --------------------------------------------------------------------------- child process


def gemm_gflops(size: int = 2048, repeats: int = 3) -> float:
    """fp32 GEMM rate (GFLOP/s), best of ``repeats`` square matmuls."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def _status_mib(field: str) -> float:
    """A memory field of /proc/self/status (reported in KiB), in MiB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":")) / 1024


def reset_peak_memory() -> float:
    """Reset the peak resident memory (VmHWM) to the current one; return the current, MiB."""
    # Linux >= 4.0; if refused, VmHWM keeps an older, higher peak: an upper bound
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _status_mib("VmRSS")


def limit_address_space(extra_gib: float) -> None:
    """Let this process map at most ``extra_gib`` more than it has now (RLIMIT_AS)."""
    with open("/proc/self/status") as status:
        size_kib = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    limit = size_kib * 1024 + int(extra_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def time_step(step: Step, repeats: int, warmup: bool) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``step`` (after one untimed call if ``warmup``)."""
    if warmup:
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def is_out_of_memory(error: BaseException) -> bool:
    """torch's CPU allocator raises RuntimeError("... can't allocate memory ...")."""
    return isinstance(error, MemoryError) or "allocate" in str(error).lower()


def child_measure(spec: dict[str, Any], build: Callable[[dict[str, Any]], Step]) -> dict[str, Any]:
    """Inside the child: build the step (imports and inputs, nothing big), then under the
    address-space limit time it and report its time and peak extra memory."""
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(spec.get("seed", 0))
    gemm_gflops(256, 1)  # starts the thread pools before the address-space limit
    try:
        step = build(spec)
        baseline = reset_peak_memory()
        limit_address_space(spec["memory_gib"])
        expected = spec.get("expected_s", 0.0)
        long = expected > LONG_RUN_S
        times = time_step(step, 1 if long else spec["repeats"], warmup=not long)
    except (MemoryError, RuntimeError) as error:
        if not is_out_of_memory(error):
            raise
        return {"status": "out of memory", "error": str(error).splitlines()[0][:200]}
    peak = _status_mib("VmHWM") - baseline
    value = getattr(step, "value", None)
    return {
        "status": "ok",
        "gemm_gflops": gemm_gflops(),
        "seconds": statistics.median(times),
        "times": times,
        "peak_extra_mib": peak,
        "value": None if value is None else float(value),
    }


def child_environment() -> dict[str, str]:
    """This environment, with OpenMP's passive waiting unless a policy is set (see above)."""
    return {"OMP_WAIT_POLICY": "PASSIVE", **os.environ}


def run_child(script: str, spec: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Run ``script --child SPEC`` in a fresh interpreter and parse its last output line."""
    command = [sys.executable, script, "--child", json.dumps(spec)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, env=child_environment()
        )
    except subprocess.TimeoutExpired:
        return {"status": f"timed out after {timeout_s:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        killed = done.returncode < 0 or done.returncode == 137
        reason = "killed (out of memory?)" if killed else f"failed (exit {done.returncode})"
        return {"status": reason, "error": done.stderr.strip().splitlines()[-1:]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# --------------------------------------------------------------------------- NT-Xent


def nt_xent_step(spec: dict[str, Any]) -> Step:
    """Forward + backward of our NT-Xent on fresh leaves; the loss value is kept on the step."""
    from contrastkit.losses import nt_xent

    # Run the code path once on a tiny batch first, so that the library code it touches is
    # resident before the memory baseline (else ~10 MiB of it reads as the loss's memory).
    tiny = torch.randn(8, spec["dim"], requires_grad=True)
    nt_xent(tiny, tiny * 2, temperature=0.1, chunk_size=spec["chunk"] and 4).backward()
    generator = torch.Generator().manual_seed(spec.get("seed", 0))
    shape = (spec["n"], spec["dim"])
    z_a = torch.randn(shape, generator=generator).requires_grad_()
    z_b = torch.randn(shape, generator=generator).requires_grad_()

    def step() -> None:
        z_a.grad = z_b.grad = None
        loss = nt_xent(z_a, z_b, temperature=0.1, chunk_size=spec["chunk"])
        loss.backward()
        step.value = loss.item()  # type: ignore[attr-defined]

    return step


def bound_seconds(rows: int, cols: int, dim: int, gemm_gflops: float) -> float:
    """Forward similarity matmul + the two gradient matmuls at the measured GEMM rate."""
    return 3 * 2 * rows * cols * dim / (gemm_gflops * 1e9)


def measure_size(args: argparse.Namespace, n: int, chunk: int | None) -> dict[str, Any]:
    flops = 3 * 2 * (2 * n) ** 2 * args.dim
    spec = {
        "n": n,
        "dim": args.dim,
        "chunk": chunk,
        "threads": args.threads,
        "repeats": args.repeats,
        "memory_gib": args.memory_gib,
        "expected_s": flops / 150e9 * 2,  # a rough guess, only to skip the warm-up at the top
    }
    record = run_child(__file__, spec, args.timeout)
    if record.get("status") == "ok":
        bound = bound_seconds(2 * n, 2 * n, args.dim, record["gemm_gflops"])
        record["bound_s"] = bound
        record["ratio_to_bound"] = record["seconds"] / bound
    return record


def table(results: dict[str, Any]) -> str:
    lines = [
        "| N pairs | 2N x 2N | tiled s | tiled / bound | tiled peak MiB "
        "| untiled s | untiled / bound | untiled peak MiB | GEMM GFLOP/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["rows"]:
        cells = [f"{row['n']:,}", f"{(2 * row['n']) ** 2 * 4 / 2**30:.3g} GiB"]
        for name in ("tiled", "untiled"):
            r = row[name]
            if r.get("status") == "ok":
                cells += [f"{r['seconds']:.3g}", f"{r['ratio_to_bound']:.2f}x"]
                cells.append(f"{r['peak_extra_mib']:,.0f}")
            else:
                cells += [r.get("status", "not run"), "", ""]
        cells.append(f"{row['tiled'].get('gemm_gflops', float('nan')):.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_sizes = [1024, 2048, 4096, 8192, 16384, 32768, 65536]
    parser.add_argument("--sizes", type=int, nargs="+", default=default_sizes, help="N pairs")
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--chunk", type=int, default=512, help="chunk_size of the tiled loss")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (median reported)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-gib", type=float, default=10.0, help="address space per child")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per child")
    parser.add_argument("--no-untiled", action="store_true", help="measure the tiled loss only")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--quick", action="store_true", help="smoke test: N 64 and 128, D 16")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.dim, args.chunk, args.repeats = [64, 128], 16, 32, 1
    if min(*args.sizes, args.dim, args.chunk, args.repeats, args.threads) < 1:
        parser.error("--sizes, --dim, --chunk, --repeats and --threads must be >= 1")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.child is not None:
        print(json.dumps(child_measure(json.loads(args.child), nt_xent_step)))
        return {}
    set_up(args.threads, 0)
    rows = []
    for n in sorted(args.sizes):
        row = {"n": n, "tiled": measure_size(args, n, args.chunk)}
        row["untiled"] = {"status": "not run"} if args.no_untiled else measure_size(args, n, None)
        rows.append(row)
        print(f"N={n}: tiled {row['tiled'].get('status')}, untiled {row['untiled'].get('status')}")
    results: dict[str, Any] = {
        "benchmark": "loss_scaling",
        "loss": "nt_xent, temperature 0.1, fp32",
        "dim": args.dim,
        "chunk_size": args.chunk,
        "threads": args.threads,
        "memory_gib_per_child": args.memory_gib,
        "omp_wait_policy": child_environment()["OMP_WAIT_POLICY"],
        "rows": rows,
        "targets": TARGETS,
        "run": run_record(__file__, argv, args.threads),
    }
    print(table(results))
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
