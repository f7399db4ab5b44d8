"""Matryoshka SimCSE: all-MiniLM-L6-v2 fine-tuned with and without ``matryoshka_dims``.

What is measured
    STS-B test Spearman correlation (x100, the ``sts`` protocol: cosine of the two sentences'
    embeddings, pooled over the test pairs) at each prefix dimension 384, 256, 128, 64 and 32
    (the first K coordinates of the embedding, re-normalized: ``contrastkit embed --dim K``),
    and at int8 and binary precision (``eval_precisions``), of

    * the base model (all-MiniLM-L6-v2 as it comes, mean pooling), and
    * the model fine-tuned by ``recipes/simcse_sup_minilm.toml`` (supervised SimCSE on STS-B
      train + Flickr8k captions, best STS-B dev checkpoint kept), once as the recipe is
      ("without") and once with ``matryoshka_dims = [384, 256, 128, 64, 32]`` ("with": the
      InfoNCE and CoSENT terms summed over the five prefixes, weight 1 each).

    Both runs use the same seed, data order and overrides. The dev selection of a Matryoshka
    run uses the full dimension's dev Spearman, as the recipe does.

Issue target
    With Matryoshka, STS-B test Spearman at 64 dims >= 97% of its full-dimension (384) score.

Usage
    python benchmarks/quality/matryoshka_minilm.py [--run-dir DIR] [--overwrite]
        [--set KEY=VALUE ...] [--seeds 0 1 2] [--threads 2] [--out results.json]
        [--allow-dirty] [--quick]

    The runs are ``DIR/without_seed{S}`` and ``DIR/with_seed{S}``. The script refuses to run on
    a checkout whose tracked files differ from the commit it records, unless ``--allow-dirty``
    (then the changed files are listed in the record). ``--quick``: a smoke test, not a
    measurement: 32 examples, batch 8, 4 steps, no dev selection, 50 test pairs, dims
    [384, 64, 32].
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# benchmarks/ is not a package: its shared helpers come from benchmarks/common.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import clear_run_dir, run_record, set_up, sts_record, sts_test_subset, write_results

import contrastkit
from contrastkit.registry import modality_of
from contrastkit.run import Run

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "simcse_sup_minilm.toml"
RUN_FILES = ("checkpoint.pt", "best.pt", "metrics.jsonl", "recipe.json", "eval.json")
DIMS = [384, 256, 128, 64, 32]
PRECISIONS = ["float32", "int8", "binary"]
TARGET_DIM, TARGET_FRACTION = 64, 0.97
QUICK = ["max_examples=32", "batch_size=8", "epochs=1", "select_every=0", "warmup_epochs=0"]
QUICK_DIMS = [384, 64, 32]


def scores(record: dict[str, Any]) -> dict[str, dict[int, float]]:
    """precision -> dim -> STS Spearman x100 of an ``sts`` record (the full dim at float32
    from its ``all`` metrics, the others from ``compressed``)."""
    table: dict[str, dict[int, float]] = {p: {} for p in PRECISIONS}
    table["float32"][record["params"]["dim"]] = 100 * record["metrics"]["all"]["spearman"]
    for entry in record["metrics"].get("compressed", []):
        table[entry["precision"]][entry["dim"]] = 100 * entry["spearman"]
    return table


def train_one(args: argparse.Namespace, name: str, seed: int, overrides: list[str]) -> dict:
    """Train one configuration, evaluate it per dim and precision; its scores and timing."""
    run_dir = args.run_dir / f"{name}_seed{seed}"
    clear_run_dir(run_dir, args.overwrite, RUN_FILES)
    run = Run(contrastkit.load_recipe(RECIPE, [*overrides, f"seed={seed}"]), run_dir)
    wall, cpu = time.perf_counter(), time.process_time()
    result = run.train()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    (record,) = run.evaluate()
    return {"scores": scores(record), "steps": result.steps, "wall_s": wall, "cpu_s": cpu}


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def summary(runs: list[dict], dims: list[int]) -> dict[str, Any]:
    """Mean over seeds of each (precision, dim) score, and the kept fraction at each dim."""
    means = {
        p: {d: mean([r["scores"][p][d] for r in runs]) for d in dims if d in runs[0]["scores"][p]}
        for p in PRECISIONS
    }
    full = means["float32"][dims[0]]
    kept = {d: means["float32"][d] / full for d in dims}
    return {"mean": means, "kept": kept}


def table(results: dict[str, Any]) -> str:
    dims = results["dims"]
    lines = [
        "| model | precision | " + " | ".join(f"{d} dims" for d in dims) + " |",
        "|---|---|" + "---:|" * len(dims),
    ]
    rows = [("all-MiniLM-L6-v2 (base)", results["base"])]
    rows += [(f"SimCSE sup, {name} Matryoshka", results[name]) for name in ("without", "with")]
    for label, entry in rows:
        for precision in PRECISIONS:
            values = entry["mean"][precision]
            if values:
                cells = [f"{values[d]:.2f}" if d in values else "-" for d in dims]
                lines.append(f"| {label} | {precision} | " + " | ".join(cells) + " |")
    for label, entry in rows:
        kept = entry["kept"]
        lines.append(
            f"| {label} | kept (float32) | "
            + " | ".join(f"{100 * kept[d]:.1f}%" for d in dims)
            + " |"
        )
    met = "met" if results["target_met"] else "not met"
    lines += [
        "",
        f"target: with Matryoshka, {TARGET_DIM} dims >= {100 * TARGET_FRACTION:.0f}% of "
        f"{dims[0]} dims: {met} ({100 * results['with']['kept'].get(TARGET_DIM, 0):.1f}%)",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--run-dir", type=Path, default=Path("runs/bench_matryoshka_minilm"))
    parser.add_argument("--overwrite", action="store_true", help="retrain existing run dirs")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", choices=["with", "without"], help="train one configuration")
    parser.add_argument("--test-pairs", type=int, default=0, help="0: all 1,379 test pairs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--allow-dirty", action="store_true", help="run on uncommitted changes")
    parser.add_argument("--quick", action="store_true", help="smoke test: 4 steps, 50 pairs")
    args = parser.parse_args(argv)
    args.dims = QUICK_DIMS if args.quick else DIMS
    if args.quick:
        args.set = [*QUICK, *args.set]
        args.test_pairs = 50
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    record = run_record(__file__, argv, args.threads)
    if record["uncommitted"] and not args.allow_dirty:
        raise SystemExit(
            f"tracked files differ from commit {record['commit'][:7]} "
            f"({', '.join(record['uncommitted'][:5])}); commit them or pass --allow-dirty"
        )
    set_up(args.threads, args.seeds[0])
    dims = args.dims
    evaluation = [f"eval_dims={dims[1:]}", f"eval_precisions={PRECISIONS}"]
    configs = {"without": [], "with": [f"matryoshka_dims={dims}"]}
    if args.only:
        configs = {args.only: configs[args.only]}
    results: dict[str, Any] = {"benchmark": "matryoshka_minilm", "dims": dims}
    with tempfile.TemporaryDirectory() as folder:
        test = sts_test_subset(args.test_pairs, Path(folder))
        common = [*args.set, "progress_bar=false", f"eval_data={test}", *evaluation]
        base_run = Run(contrastkit.load_recipe(RECIPE, common), Path(folder) / "base")
        method = modality_of("simcse").build_method(base_run.recipe, base_run.spec)
        results["base"] = summary([{"scores": scores(sts_record(base_run, method))}], dims)
        for name, extra in configs.items():
            runs = [train_one(args, name, seed, [*common, *extra]) for seed in args.seeds]
            results[name] = {"runs": runs, **summary(runs, dims)}
    results["overrides"] = common[:-3] + common[-2:]
    results["seeds"] = args.seeds
    results["test_pairs"] = args.test_pairs or 1379
    kept = results.get("with", {}).get("kept", {}).get(TARGET_DIM)
    results["target_met"] = kept is not None and kept >= TARGET_FRACTION
    results["run"] = record
    if "with" in results and "without" in results:
        print(table(results))
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
