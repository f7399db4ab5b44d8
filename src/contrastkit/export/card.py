"""The model card (``README.md``) every export folder holds: recipe, data and its licence, the
run's evaluation records, and how to load the export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Licences of the data sets and pretrained weights contrastkit knows by name; anything else is
# the user's own data, whose licence the card asks them to state.
KNOWN_LICENCES = {
    "digits": "UCI Optical Recognition of Handwritten Digits via scikit-learn: CC BY 4.0",
    "cifar10": "CIFAR-10 (Krizhevsky 2009): no licence stated by its authors; research use",
    "fashion_mnist": "Fashion-MNIST (Zalando Research): MIT",
    "stsb": "STS Benchmark (Cer et al. 2017): sources under their own terms (mostly CC BY-SA)",
    "flickr8k": "Flickr8k (Hodosh et al. 2013): research use only, images owned by Flickr users",
    "flickr8k_captions": "Flickr8k captions (Hodosh et al. 2013): research use only",
    "wordnet": "WordNet 3.0 (Princeton): WordNet licence (permissive, attribution)",
    "minilm": "all-MiniLM-L6-v2 (sentence-transformers): Apache-2.0",
    "efficientnet_lite0": "EfficientNet-Lite0 weights (TensorFlow model garden port): Apache-2.0",
}

# recipe keys naming data or starting weights, and what each is to the run
_DATA_KEYS = {
    "dataset": "training data",
    "eval_data": "evaluation data (sts)",
    "zero_shot_dataset": "evaluation data (zero_shot)",
    "encoder": "encoder",
    "text_encoder": "text encoder",
}


def _licence(key: str, value: Any) -> str:
    from contrastkit.encoders.build import ENCODERS

    name = str(value).replace("-", "_").lower()
    if key in ("encoder", "text_encoder") and name in {*ENCODERS, "small_transformer", "mlp"}:
        return "trained from random initialization by this run (no pretrained weights)"
    if name in KNOWN_LICENCES:
        return KNOWN_LICENCES[name]
    return "not known to contrastkit (your own file or folder): state its licence here"


def _records(folder: Path) -> str:
    path = folder / "eval.json"
    if not path.is_file():
        return "The run was not evaluated (no `eval.json`)."
    try:
        records = json.loads(path.read_text())
    except ValueError:
        return "The run's `eval.json` is not valid JSON; evaluate the run again."
    lines = ["The records of the run's `eval.json`, one per line:", "", "```json"]
    lines += [json.dumps(record) for record in records]
    return "\n".join([*lines, "```"])


def model_card(run: Any, format_name: str, summary: str, how_to_load: str) -> str:
    """The Markdown model card of ``run`` exported as ``format_name``.

    Args:
        run: the :class:`~contrastkit.run.Run` exported.
        format_name: the export format's name.
        summary: the format's one-line description.
        how_to_load: Markdown (code blocks) showing how to load this export.
    """
    from contrastkit import __version__

    flat = run.recipe.to_flat()
    data = [
        f"- {role}, `{key}` = `{flat[key]}`: {_licence(key, flat[key])}"
        for key, role in _DATA_KEYS.items()
        if flat.get(key)
    ]
    return "\n".join(
        [
            f"# {run.recipe.model.method} ({run.modality.name}), exported as `{format_name}`",
            "",
            f"Exported by contrastkit {__version__} from the run folder `{run.folder}` "
            f"(weights: `{run.weights_path().name}`). {summary}",
            "",
            "## How to load",
            "",
            how_to_load.strip(),
            "",
            "## Data and licences",
            "",
            *data,
            "",
            "The exported weights inherit the terms of the data and pretrained weights above.",
            "",
            "## Evaluation",
            "",
            _records(run.folder),
            "",
            "## Recipe",
            "",
            "Every key of the run's `recipe.json`:",
            "",
            "```json",
            json.dumps(flat, indent=2, sort_keys=True),
            "```",
            "",
        ]
    )


def write_card(run: Any, folder: Path, format_name: str, summary: str, how_to_load: str) -> Path:
    """Write ``folder/README.md`` and return its path."""
    path = folder / "README.md"
    path.write_text(model_card(run, format_name, summary, how_to_load), encoding="utf-8")
    return path
