"""Unsupervised SimCSE from scratch on 200k unlabeled sentences, at a CPU budget; STS-B test.

What is measured
    STS-B test Spearman correlation (x100, cosine similarity against the gold scores,
    ``contrastkit.eval.sts``) of

    * TF-IDF: scikit-learn's ``TfidfVectorizer`` (defaults: lower-cased word unigrams, l2
      norm) fitted on the training sentences, cosine of the two sentences' vectors;
    * the untrained encoder: ``recipes/simcse_unsup_small.toml``'s small Transformer (4 layers,
      width 256, MiniLM's WordPiece vocabulary, mean pooling) at its random initialization
      (the same seed as the trained one);
    * the same encoder trained by unsupervised SimCSE with that recipe for ``--budget-minutes``
      of wall-clock time (12 by default): 200,000 WordNet + NLTK sentences
      (``contrastkit.data.text.unlabeled_sentences``, no STS data), each its own positive
      through two dropout masks, InfoNCE at temperature 0.05, MLP head in training only,
      AdamW at a constant learning rate after the warmup (the recipe's cosine would be cut
      short by the budget), batch 64; the checkpoint with the best STS-B dev Spearman
      (checked every ``select_every`` steps and at the step where training stops) is the one
      reported on test.

    The budget covers training steps only (the dev checks count in it; loading the corpus does
    not). ``--steps N`` bounds training by steps instead of time (for a loaded machine, where a
    wall-clock budget buys fewer steps). The wall-clock time and the process CPU time (all
    threads) of training are reported, with the steps done and the sentences seen.

Issue target
    Report the trained encoder against TF-IDF and the untrained encoder (no threshold).

Usage
    python benchmarks/quality/simcse_unsup_small.py [--budget-minutes 12 | --steps N]
        [--run-dir DIR] [--overwrite] [--set KEY=VALUE ...] [--threads 2] [--out results.json]
        [--quick]

    ``--quick``: a smoke test, not a measurement: 64 MR sentences, batch 8, 2 steps, a tiny
    encoder, 50 STS-B test pairs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

# benchmarks/ is not a package: its shared helpers come from benchmarks/common.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import (
    clear_run_dir,
    read_sts_test,
    run_record,
    set_up,
    sts_record,
    sts_test_subset,
    write_results,
)

import contrastkit
from contrastkit.eval import sts_correlation
from contrastkit.registry import modality_of
from contrastkit.run import Run

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "simcse_unsup_small.toml"
RUN_FILES = ("checkpoint.pt", "best.pt", "metrics.jsonl", "recipe.json", "eval.json")
QUICK = [
    "dataset=sentence_polarity",
    "max_examples=64",
    "batch_size=8",
    "max_steps=2",
    "select_every=2",
    "encoder_options.layers=1",
    "encoder_options.width=32",
    "encoder_options.heads=2",
]


def tfidf_score(train_texts: list[str], test: str) -> float:
    """TF-IDF fitted on the training sentences: STS Spearman x100 of its cosine similarities."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    first, second, gold = read_sts_test(test)
    vectorizer = TfidfVectorizer().fit(train_texts)
    a = torch.tensor(vectorizer.transform(first).toarray())
    b = torch.tensor(vectorizer.transform(second).toarray())
    # a sentence with no known word has a zero vector: a tiny constant keeps its cosine defined
    return 100 * sts_correlation(a + 1e-12, b + 1e-12, gold)["spearman"]


def training_texts(run: Run) -> list[str]:
    """The run's training sentences (``max_examples`` drawn with its seed), as training reads
    them: the run's training set-up, its data kept in ``run.splits`` for ``run.train()``."""
    setup = modality_of(run.recipe.model.method).training_setup(run.recipe, run.splits, run.spec)
    return [texts[0] for texts in setup.source.examples.texts]


def untrained_score(run: Run) -> float:
    """The recipe's method at its initialization (seeded as ``Run.train`` seeds it)."""
    torch.manual_seed(run.recipe.train.seed)
    method = modality_of(run.recipe.model.method).build_method(run.recipe, run.spec)
    return 100 * float(sts_record(run, method)["metrics"]["all"]["spearman"])


def selection_summary(run_dir: Path) -> dict[str, Any]:
    """The dev Spearman of every selection step, and the step that was kept."""
    checks = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if "stsb_dev_spearman" in record:
            checks.append((record["step"], 100 * record["stsb_dev_spearman"]))
    best = max(checks, key=lambda check: check[1]) if checks else None
    return {"dev_checks": checks, "best_dev": best and best[1], "best_step": best and best[0]}


def table(results: dict[str, Any]) -> str:
    trained = results["trained"]
    best = (
        f"{trained['best_dev']:.2f} (step {trained['best_step']})" if trained["best_dev"] else "-"
    )
    return "\n".join(
        [
            "| representation | STS-B test Spearman x100 | STS-B dev (best) | budget |",
            "|---|---|---|---|",
            f"| TF-IDF (fitted on the training sentences) | {results['tfidf']:.2f} | - | - |",
            f"| small Transformer, untrained | {results['untrained']:.2f} | - | - |",
            f"| small Transformer, unsupervised SimCSE | {trained['test']:.2f} | {best} | "
            f"{trained['wall_s'] / 60:.1f} min wall, {trained['cpu_s'] / 60:.1f} min CPU: "
            f"{trained['steps']} steps, {trained['sentences_seen']} sentences |",
        ]
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget-minutes", type=float, default=12.0)
    parser.add_argument("--steps", type=int, help="a budget in steps instead of minutes")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/bench_simcse_unsup_small"))
    parser.add_argument("--overwrite", action="store_true", help="retrain an existing run dir")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--test-pairs", type=int, default=0, help="0: all 1,379 test pairs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 64 sentences, 2 steps, 50 test pairs"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.set = [*QUICK, *args.set]
        args.test_pairs = 50
    if args.budget_minutes <= 0 or (args.steps is not None and args.steps < 1):
        parser.error("--budget-minutes must be > 0 and --steps >= 1")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    set_up(args.threads, args.seed)
    clear_run_dir(args.run_dir, args.overwrite, RUN_FILES)
    lr = contrastkit.load_recipe(RECIPE, args.set).train.lr
    limit = f"max_steps={args.steps}" if args.steps else f"time_budget_s={60 * args.budget_minutes}"
    budget = [limit, f"min_lr={lr}"]
    with tempfile.TemporaryDirectory() as folder:
        test = sts_test_subset(args.test_pairs, Path(folder))
        overrides = [*budget, *args.set, f"seed={args.seed}", "progress_bar=false"]
        recipe = contrastkit.load_recipe(RECIPE, [*overrides, f"eval_data={test}"])
        run = Run(recipe, args.run_dir)
        train_texts = training_texts(run)
        baselines = {"tfidf": tfidf_score(train_texts, test)}
        baselines["untrained"] = untrained_score(run)
        wall, cpu = time.perf_counter(), time.process_time()
        result = run.train()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        (record,) = run.evaluate()
    trained = {
        "test": 100 * float(record["metrics"]["all"]["spearman"]),
        "steps": result.steps,
        "stopped": result.stopped,
        "sentences_seen": result.steps * recipe.train.batch_size,
        "wall_s": wall,
        "cpu_s": cpu,
        **selection_summary(args.run_dir),
    }
    results: dict[str, Any] = {
        "benchmark": "simcse_unsup_small",
        "recipe": str(RECIPE.relative_to(RECIPE.parents[1])),
        "overrides": overrides,
        "budget": limit,
        "train_sentences": len(train_texts),
        "test_pairs": args.test_pairs or 1379,
        **baselines,
        "trained": trained,
        "run_dir": str(args.run_dir),
        "run": run_record(__file__, argv, args.threads),
    }
    print(table(results))
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
