"""The ``contrastkit`` command line: train, eval, embed, export, report, views, sweep, demo,
losses.

``main(argv)`` is importable and testable; it returns the exit code instead of raising: 0
success, 1 training diverged, 2 user error, 130 interrupted by Ctrl-C (after saving a
checkpoint). Nothing below this module sees an argparse namespace: handlers turn arguments
into recipes and keyword arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contrastkit import __version__

INTERRUPTED = 130  # exit code after Ctrl-C, as shells report SIGINT


def _train(args: argparse.Namespace) -> int:
    from contrastkit.distributed import init_from_env, rank
    from contrastkit.recipe import load_recipe
    from contrastkit.run import Run

    flags = [
        *(["skip_corrupt=true"] if args.skip_corrupt else []),
        *(["skip_missing=true"] if args.skip_missing else []),
    ]
    run = Run(load_recipe(args.recipe, [*args.set, *flags]), args.out)
    if init_from_env() and rank() != 0:
        run.train()  # rank 0 evaluates, writes the report and prints
        return 0
    result = run.train()
    print(f"{result.stopped} after {result.steps} steps; run folder {args.out}")
    if result.stopped == "interrupted":
        return INTERRUPTED
    # completed, or stopped by its budget (max_steps, time_budget_s): evaluate what was trained
    if not args.no_eval and run.recipe.protocols:
        _print_and_save(run, run.evaluate(save=False), "trained encoder", as_json=False)
    if not args.no_report:
        print(f"report: {run.report()}")
    return 0


def _print_and_save(run: Any, records: list[dict[str, Any]], label: str, *, as_json: bool) -> None:
    """Print evaluation records, then write ``eval.json`` (a failed write loses no result)."""
    from contrastkit.results import format_table

    if as_json:
        for record in records:
            print(json.dumps(record))
    else:
        print(format_table({label: records}))
    run.save_eval(records)


def _report(args: argparse.Namespace) -> int:
    from contrastkit.run import load_run

    print(f"wrote {load_run(args.run).report(max_points=args.max_points)}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from contrastkit.run import load_run

    run = load_run(args.run)
    protocols = [p.strip() for p in args.protocol.split(",")] if args.protocol else None
    records = run.evaluate(protocols, data=args.data, save=False)
    _print_and_save(run, records, str(args.run), as_json=args.json)
    return 0


def _embed(args: argparse.Namespace) -> int:
    import numpy as np

    from contrastkit.run import load_run

    features, what = load_run(args.run).embed(
        args.data,
        split=args.split,
        skip_corrupt=args.skip_corrupt,
        dim=args.dim,
        precision=args.precision,
    )
    array = features.numpy()
    np.save(args.out, array)
    print(
        f"wrote {array.shape} {array.dtype} features of {what} to {args.out} "
        f"({array.shape[1] * array.itemsize} bytes per vector, {args.precision})"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from contrastkit.run import load_run

    path = load_run(args.run).export(args.format, args.out)
    print(
        f"wrote the {args.format} export of {args.run} to {path} (model card: {path / 'README.md'})"
    )
    return 0


def _views(args: argparse.Namespace) -> int:
    from contrastkit.modalities.image.preview import views

    path = views(
        args.data,
        args.out,
        split=args.split,
        recipe=args.recipe,
        size=args.size,
        count=args.count,
        seed=args.seed,
    )
    print(f"wrote {path}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from contrastkit.sweep import format_sweep, run_sweep

    records = run_sweep(args.recipe, args.set, args.out, metric=args.metric)
    print(format_sweep(records))
    print(f"wrote {args.out / 'sweep.json'} and {args.out / 'sweep.png'}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from contrastkit.demo import print_demo, run_demo

    print_demo(run_demo(args.set, run_dir=args.out))
    return 0


def _losses(args: argparse.Namespace) -> int:
    from contrastkit.registry import LOSSES

    print(f"{'name':20s} {'module':22s} {'negatives':10s} paper")
    for name, entry in LOSSES.items():
        negatives = "yes" if entry.uses_negatives else "no"
        print(f"{name:20s} {entry.module.__name__:22s} {negatives:10s} {entry.paper}")
    return 0


def _add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    train = commands.add_parser("train", help="train a method from a TOML recipe")
    train.add_argument(
        "--recipe", required=True, help="a TOML recipe, e.g. recipes/simclr_digits.toml"
    )
    train.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe key"
    )
    train.add_argument(
        "--out", required=True, type=Path, help="run folder (resumes if it holds a checkpoint)"
    )
    train.add_argument("--no-eval", action="store_true", help="skip the evaluation after training")
    train.add_argument("--no-report", action="store_true", help="skip the HTML report at the end")
    train.add_argument(
        "--skip-corrupt",
        action="store_true",
        help="skip unreadable image files of a folder dataset (counted at the end)",
    )
    train.add_argument(
        "--skip-missing",
        action="store_true",
        help="image-caption data: leave out pairs whose image file is missing or unreadable",
    )
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("eval", help="evaluate a trained run's frozen features")
    evaluate.add_argument("run", type=Path, help="run folder")
    evaluate.add_argument(
        "--protocol",
        help="comma-separated registered protocols: knn,linear (images), sts (text), "
        "retrieval,zero_shot (image-text); default: the recipe's",
    )
    evaluate.add_argument(
        "--data",
        help="the data option of the protocols that have one: sts's eval_data (stsb = STS-B "
        "test, stsb_dev, or a file), zero_shot's zero_shot_dataset (cifar10 or a class folder)",
    )
    evaluate.add_argument(
        "--json", action="store_true", help="one JSON object per protocol per line"
    )
    evaluate.set_defaults(handler=_eval)

    embed = commands.add_parser("embed", help="write a run's frozen features as a .npy file")
    embed.add_argument("run", type=Path, help="run folder")
    embed.add_argument(
        "--data",
        help="image runs: dataset name or folder (default: the run's dataset); text runs: a "
        ".txt file (one sentence per line), pairs CSV, STS file or corpus name; image-text "
        "runs: texts (tower b) or an image dataset (tower a)",
    )
    embed.add_argument("--split", default="test", help="split to embed (default: test)")
    embed.add_argument(
        "--skip-corrupt",
        action="store_true",
        help="image folders: leave out unreadable files (counted; rows then skip them)",
    )
    embed.add_argument(
        "--dim",
        type=int,
        help="keep the first DIM dimensions, re-normalized (a run trained with matryoshka_dims)",
    )
    embed.add_argument(
        "--precision",
        default="float32",
        help="float32 (default), int8 (per-dimension ranges calibrated on the embedded set) or "
        "binary (sign bits packed 8 per byte, uint8)",
    )
    embed.add_argument("--out", required=True, type=Path, help="output .npy path")
    embed.set_defaults(handler=_embed)

    export = commands.add_parser(
        "export", help="write a trained model in a format other tools load, with a model card"
    )
    export.add_argument("run", type=Path, help="run folder")
    export.add_argument(
        "--format",
        required=True,
        help="backbone or onnx (image runs); sentence-transformers, huggingface or onnx (text "
        "runs); two_tower (image-text runs)",
    )
    export.add_argument("--out", required=True, type=Path, help="a new or empty folder")
    export.set_defaults(handler=_export)

    views = commands.add_parser(
        "views", help="write a PNG grid of images and their augmented views"
    )
    views.add_argument("--data", required=True, help="dataset name or path")
    views.add_argument("--split", default="train")
    views.add_argument("--recipe", default="simclr", help="view recipe name")
    views.add_argument("--size", type=int, default=32, help="view size in pixels")
    views.add_argument("--count", type=int, default=8, help="images in the grid")
    views.add_argument("--seed", type=int, default=0)
    views.add_argument("--out", required=True, type=Path, help="output PNG path")
    views.set_defaults(handler=_views)

    report = commands.add_parser("report", help="write RUN/report.html, a self-contained report")
    report.add_argument("run", type=Path, help="run folder")
    report.add_argument("--max-points", type=int, default=2000, help="test points in the t-SNE map")
    report.set_defaults(handler=_report)

    sweep = commands.add_parser("sweep", help="short runs over --set key=v1,v2,... and a plot")
    sweep.add_argument("--recipe", required=True, help="a TOML recipe")
    sweep.add_argument(
        "--set", action="append", default=[], metavar="KEY=V1,V2", help="fixed or swept values"
    )
    sweep.add_argument("--metric", default="knn", choices=["knn", "linear"])
    sweep.add_argument("--out", required=True, type=Path, help="folder for the runs and results")
    sweep.set_defaults(handler=_sweep)

    demo = commands.add_parser(
        "demo", help="SimCLR on bundled digits vs raw pixels and random init"
    )
    demo.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe key"
    )
    demo.add_argument("--out", type=Path, help="keep the demo's run folder here")
    demo.set_defaults(handler=_demo)

    listing = commands.add_parser("losses", help="list the losses with their papers")
    listing.set_defaults(handler=_losses)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contrastkit", description="Contrastive representation learning."
    )
    parser.add_argument("--version", action="version", version=f"contrastkit {__version__}")
    _add_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def _warning_line(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    line: str | None = None,
) -> str:
    """Warnings as one line a user can read, without a source file and line."""
    return f"warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    previous = warnings.formatwarning
    warnings.formatwarning = _warning_line
    try:
        return int(args.handler(args))
    except (ValueError, OSError) as error:  # bad input, or a path that cannot be read or written
        print(f"contrastkit {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:  # a second Ctrl-C, or Ctrl-C outside training
        print(f"contrastkit {args.command}: {str(interrupt) or 'interrupted'}", file=sys.stderr)
        return INTERRUPTED
    except RuntimeError as error:
        from contrastkit.train.loop import TrainingDivergedError

        if not isinstance(error, TrainingDivergedError):
            raise
        print(f"contrastkit {args.command}: {error}", file=sys.stderr)
        return 1
    finally:
        warnings.formatwarning = previous


if __name__ == "__main__":
    sys.exit(main())
