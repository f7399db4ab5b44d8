"""The ``contrastkit`` command line: ``contrastkit demo | losses``.

``main(argv)`` is importable and testable; it returns the exit code (0 success, 2 user error)
instead of raising, and nothing below this module sees an argparse namespace.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from contrastkit import __version__
from contrastkit.demo import DemoConfig, format_results, run_demo
from contrastkit.registry import LOSSES


def _demo(args: argparse.Namespace) -> int:
    config = DemoConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        temperature=args.temperature,
        seed=args.seed,
    )
    print(format_results(run_demo(config)))
    return 0


def _losses(args: argparse.Namespace) -> int:
    print(f"{'name':20s} {'module':22s} {'negatives':10s} paper")
    for name, entry in LOSSES.items():
        negatives = "yes" if entry.uses_negatives else "no"
        print(f"{name:20s} {entry.module.__name__:22s} {negatives:10s} {entry.paper}")
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contrastkit", description="Contrastive representation learning toolkit."
    )
    parser.add_argument("--version", action="version", version=f"contrastkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="train on scikit-learn's bundled digits and print kNN accuracy before/after"
    )
    defaults = DemoConfig()
    demo.add_argument("--epochs", type=_positive_int, default=defaults.epochs)
    demo.add_argument("--batch-size", type=_positive_int, default=defaults.batch_size)
    demo.add_argument("--temperature", type=float, default=defaults.temperature)
    demo.add_argument("--seed", type=int, default=defaults.seed)
    demo.set_defaults(handler=_demo)
    listing = commands.add_parser("losses", help="list the losses with their papers")
    listing.set_defaults(handler=_losses)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return int(args.handler(args))
    except ValueError as error:
        print(f"contrastkit {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
