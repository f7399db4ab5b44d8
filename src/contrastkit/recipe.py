"""Recipes: a flat TOML file plus ``--set key=value`` overrides, turned into frozen dataclasses.

A recipe names the method (which fixes its modality: image, text or image-text), the data, the
encoder, and sets training and evaluation options. There is no inheritance between recipe
files. Every key belongs to exactly one of:

- :class:`ModelConfig` (``method``, ``encoder``, ``encoder_options``),
- the modality's data section (:class:`DataConfig` and what the modality adds to it:
  ``contrastkit.modalities.<modality>.recipe``),
- :class:`~contrastkit.train.TrainConfig`,
- :class:`EvalConfig` (``protocols``, ``health_every``) and the parameters of the modality's
  evaluation protocols (``knn_k``, ``label_fractions``, ``eval_data``, ...),
- the method's keyword arguments (``temperature``, ``queue_size``, ...).

A key that belongs to none of them is an error that lists the valid keys, and so is a key of
another modality (``max_length`` on an image run). Every value is checked here, before any data
is read or any step is trained.

Example recipe::

    method = "simclr"
    dataset = "digits"
    encoder = "small_convnet"
    views = "simclr"
    image_size = 8
    temperature = 0.2
    epochs = 50
    batch_size = 256
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from contrastkit.train.config import TrainConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class DataConfig:
    """Data keys every modality has; each modality's section adds its own (views, sizes...)."""

    dataset: str = "digits"  # a registered data set name, or a path (see the modality)
    train_split: str = "train"  # split used for training (and the kNN bank)
    test_split: str = "test"  # split used for evaluation


@dataclass(frozen=True)
class ModelConfig:
    """The encoder and the method wrapped around it."""

    method: str = "simclr"  # contrastkit.registry.METHODS (its modality picks the data section)
    encoder: str = ""  # an encoder of the modality ("": the modality's default)
    encoder_options: dict[str, Any] = field(default_factory=dict)  # e.g. {pooler = "mean"}
    method_options: dict[str, Any] = field(default_factory=dict)  # temperature, queue_size, ...


@dataclass(frozen=True)
class EvalConfig:
    """Which evaluation protocols run after training (and by ``contrastkit eval``), and the
    training-health monitor (collapse, alignment, uniformity) that runs during training."""

    protocols: list[str] | None = None  # registered protocols (None: the modality's default)
    health_every: int = 10  # steps between health measurements during training (0: off)

    def __post_init__(self) -> None:
        if self.protocols is not None and (
            not isinstance(self.protocols, list)
            or not all(isinstance(p, str) for p in self.protocols)
        ):
            raise ValueError(f"protocols must be a list of names, got {self.protocols!r}")
        if isinstance(self.health_every, bool) or not isinstance(self.health_every, int):
            raise ValueError(f"health_every must be an integer >= 0, got {self.health_every!r}")
        if self.health_every < 0:
            raise ValueError(f"health_every must be an integer >= 0, got {self.health_every!r}")


# Keys a resumed run may change besides evaluation settings: they do not alter what is trained.
RESUMABLE_TRAIN_KEYS = frozenset(
    {
        "max_steps",
        "time_budget_s",
        "progress_bar",
        "log_every",
        "checkpoint_every",
        "device",
        "micro_batch_size",  # gradient caching changes memory, not the gradients
    }
)


@dataclass(frozen=True)
class Recipe:
    """A whole run's configuration.

    Attributes:
        data: the modality's data section (a :class:`DataConfig` subclass).
        model: encoder and method.
        train: optimizer, schedule, checkpoints.
        eval: protocols and health monitoring.
        protocol_params: the parameters of every protocol of the modality, by protocol name.
    """

    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    eval: EvalConfig
    protocol_params: dict[str, Any] = field(default_factory=dict)

    @property
    def protocols(self) -> list[str]:
        """The protocols evaluation runs (resolved: never None)."""
        return list(self.eval.protocols or [])

    def params(self, protocol: str) -> Any:
        """The parameters of ``protocol`` (a frozen dataclass)."""
        return self.protocol_params[protocol]

    def to_flat(self) -> dict[str, Any]:
        """The flat key-value form (what a recipe file holds), for saving with a run."""
        flat: dict[str, Any] = {}
        for part in (self.data, self.model, self.train, self.eval, *self.protocol_params.values()):
            flat.update(dataclasses.asdict(part))
        flat.update(flat.pop("method_options"))
        return {key: value for key, value in flat.items() if value is not None}

    def resumable_keys(self) -> frozenset[str]:
        """Keys a resumed run may change: they do not alter what is trained."""
        evaluation = {f.name for f in fields(EvalConfig)}
        for params in self.protocol_params.values():
            evaluation |= {f.name for f in fields(params)}
        return RESUMABLE_TRAIN_KEYS | evaluation | set(getattr(self.data, "RESUMABLE", ()))

    def with_eval(self, protocols: list[str] | None = None, data: str | None = None) -> Recipe:
        """A copy evaluating ``protocols`` (None: unchanged), with ``data`` replacing the data
        option of each protocol that has one (``contrastkit eval --data``)."""
        from contrastkit.registry import PROTOCOLS, protocols_for

        recipe = self
        if protocols is not None:
            valid = protocols_for(_modality(self.model.method).name)
            _check_protocols(protocols, valid, self.model.method)
            recipe = dataclasses.replace(
                recipe, eval=dataclasses.replace(self.eval, protocols=protocols)
            )
        if data is not None:
            keyed = [p for p in recipe.protocols if PROTOCOLS[p].data_key]
            if not keyed:
                raise ValueError(
                    f"--data applies to no protocol of {recipe.protocols}; it sets "
                    + ", ".join(
                        f"{p.data_key} ({p.name})" for p in PROTOCOLS.values() if p.data_key
                    )
                )
            params = dict(recipe.protocol_params)
            for name in keyed:
                key = PROTOCOLS[name].data_key
                params[name] = dataclasses.replace(params[name], **{str(key): data})
            recipe = dataclasses.replace(recipe, protocol_params=params)
        return recipe


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` with the value read as TOML (``0.1``, ``true``, ``[1, 2]``), else a string.

    Example:
        >>> parse_override("temperature=0.1"), parse_override("dataset=digits")
        (('temperature', 0.1), ('dataset', 'digits'))
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"--set expects key=value, got {text!r}")
    try:
        value = tomllib.loads(f"value = {raw.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def _apply(values: dict[str, Any], key: str, value: Any) -> None:
    head, _, rest = key.partition(".")
    if rest:
        table = values.setdefault(head, {})
        if not isinstance(table, dict):
            raise ValueError(f"--set {key}: {head} is not a table of options")
        table[rest] = value
    else:
        values[key] = value


def _modality(method: Any) -> Any:
    from contrastkit.registry import modality_of

    return modality_of(method)


def method_keys(method: str) -> list[str]:
    """The keyword arguments of a registered method besides its encoder(s): recipe keys."""
    from contrastkit.registry import METHODS

    parameters = inspect.signature(METHODS[method].cls).parameters.values()
    return [
        p.name
        for p in parameters
        if not p.name.startswith("encoder") and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]


def _check_protocols(names: list[str], valid: dict[str, Any], method: str) -> None:
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise ValueError(
            f"protocols {unknown} do not evaluate {method} runs; choose from "
            f"{', '.join(valid) or 'none'} (contrastkit.registry.PROTOCOLS)"
        )


def _owners(modality: Any, protocols: dict[str, Any]) -> dict[str, type]:
    """Which dataclass owns the keys of each part of a recipe of ``modality``."""
    parts: dict[str, type] = {
        "data": modality.data_section,
        "model": ModelConfig,
        "train": TrainConfig,
        "eval": EvalConfig,
    }
    parts.update({name: protocol.params for name, protocol in protocols.items()})
    return parts


def valid_keys(method: str) -> dict[str, list[str]]:
    """The recipe keys a run of ``method`` takes, by part (``data``, ``model``, ``train``,
    ``eval``, one entry per protocol, and ``method``)."""
    from contrastkit.registry import protocols_for

    modality = _modality(method)
    owners = _owners(modality, protocols_for(modality.name))
    keys = {
        part: [f.name for f in fields(cls) if f.name != "method_options"]
        for part, cls in owners.items()
    }
    keys["method"] = method_keys(method)
    return {part: names for part, names in keys.items() if names}


def _foreign_owner(key: str, method: str) -> str | None:
    """The modality whose recipe key ``key`` is, when it is not ``method``'s."""
    from contrastkit.registry import PROTOCOLS, modalities

    own = _modality(method).name
    for name, modality in modalities().items():
        if name != own and key in {f.name for f in fields(modality.data_section)}:
            return name
    for protocol in PROTOCOLS.values():
        if own not in protocol.modalities and key in protocol.recipe_keys():
            return "/".join(protocol.modalities)
    return None


def _unknown_keys_error(keys: list[str], method: str) -> ValueError:
    modality = _modality(method).name
    listing = "; ".join(f"{part}: {', '.join(names)}" for part, names in valid_keys(method).items())
    reasons = []
    for key in keys:
        other = _foreign_owner(key, method)
        if other is not None:
            reasons.append(f"{key!r} is a recipe key of {other} runs")
        else:
            reasons.append(f"unknown recipe key {key!r}")
    return ValueError(
        f"{'; '.join(reasons)}; {method} is a{'n' if modality[0] in 'aeiou' else ''} "
        f"{modality} method, whose recipe keys are: {listing}"
    )


def _build(cls: type, part: str, values: dict[str, Any]) -> Any:
    try:
        return cls(**values)
    except TypeError as error:
        raise ValueError(f"invalid {part} value: {error}") from error


def recipe_from_dict(
    values: dict[str, Any], overrides: list[str] | None = None, *, saved: bool = False
) -> Recipe:
    """Build a :class:`Recipe` from flat values and ``key=value`` overrides, checking every
    key and value.

    ``saved=True`` reads a run folder's ``recipe.json``: keys that belong to no part (written
    by an older version) are dropped instead of rejected.

    Example:
        >>> recipe = recipe_from_dict({"method": "simclr", "temperature": 0.2}, ["epochs=3"])
        >>> recipe.train.epochs, recipe.model.method_options, recipe.protocols
        (3, {'temperature': 0.2}, ['knn', 'linear'])
    """
    from contrastkit.registry import protocols_for

    merged = {
        key: (dict(value) if isinstance(value, dict) else value) for key, value in values.items()
    }
    for text in overrides or []:
        _apply(merged, *parse_override(text))
    method = merged.get("method", ModelConfig.method)
    modality = _modality(method)  # raises unless method names a registered method
    assert isinstance(method, str)
    protocols = protocols_for(modality.name)
    owners = _owners(modality, protocols)
    names = {part: {f.name for f in fields(cls)} for part, cls in owners.items()}
    accepted = set(method_keys(method))
    parts: dict[str, dict[str, Any]] = {part: {} for part in owners}
    options = merged.pop("method_options", {})
    if not isinstance(options, dict):
        raise ValueError(f"method_options must be a table of options, got {options!r}")
    method_options: dict[str, Any] = dict(options)
    unknown = [key for key in method_options if key not in accepted]
    for key, value in merged.items():
        part = next((p for p, keys in names.items() if key in keys), None)
        if part is not None:
            parts[part][key] = value
        elif key in accepted:
            method_options[key] = value
        else:
            unknown.append(key)
    if unknown and not saved:
        raise _unknown_keys_error(unknown, method)
    parts["model"]["method_options"] = method_options
    if not parts["model"].get("encoder"):  # unset or "": the modality's default
        parts["model"]["encoder"] = modality.default_encoder
    if parts["eval"].get("protocols") is None:
        parts["eval"]["protocols"] = list(modality.default_protocols)
    built = {part: _build(cls, part, parts[part]) for part, cls in owners.items()}
    _check_protocols(built["eval"].protocols, protocols, method)
    return Recipe(
        built["data"],
        built["model"],
        built["train"],
        built["eval"],
        {name: built[name] for name in protocols},
    )


def read_recipe_file(path: str | Path) -> dict[str, Any]:
    """The flat values of a TOML recipe file, unchecked (:func:`recipe_from_dict` checks)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"recipe {path} does not exist; see the recipes/ folder for examples")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"recipe {path} is not valid TOML: {error}") from error


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read a flat TOML recipe file and apply ``--set`` overrides, checking every key and value."""
    return recipe_from_dict(read_recipe_file(path), overrides)


__all__ = [
    "DataConfig",
    "EvalConfig",
    "ModelConfig",
    "Recipe",
    "load_recipe",
    "method_keys",
    "parse_override",
    "read_recipe_file",
    "recipe_from_dict",
    "valid_keys",
]
