"""contrastkit: contrastive representation learning for images, text and image-text pairs.

The Python front door mirrors the command line one to one::

    contrastkit train --recipe R --out D --set epochs=5  run = contrastkit.train_run(R, D, epochs=5)
    contrastkit eval D --protocol knn                    contrastkit.load_run(D).evaluate(["knn"])
    contrastkit embed D --data X --out f.npy             features, what = run.embed("X")
    contrastkit report D                                 run.report()
    contrastkit export D --format F --out E              run.export(F, E); contrastkit.load_model(E)
    contrastkit views --data digits --out v.png          contrastkit.views("digits", "v.png")
    contrastkit sweep --recipe R --set k=a,b --out D     contrastkit.sweep(R, ["k=a,b"], D)
    contrastkit demo                                     contrastkit.demo()

Names are imported on first use, so ``import contrastkit`` is instant. (``train_run``, not
``train``: ``contrastkit.train`` is the training engine's package.)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Run": ("contrastkit.run", "Run"),
    "train_run": ("contrastkit.run", "train_run"),
    "load_run": ("contrastkit.run", "load_run"),
    "load_recipe": ("contrastkit.recipe", "load_recipe"),
    "Recipe": ("contrastkit.recipe", "Recipe"),
    "views": ("contrastkit.modalities.image.preview", "views"),
    "sweep": ("contrastkit.sweep", "run_sweep"),
    "demo": ("contrastkit.demo", "run_demo"),
    "format_table": ("contrastkit.results", "format_table"),
    "load_model": ("contrastkit.export", "load_model"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'contrastkit' has no attribute {name!r}")
