"""Checks of configuration values (recipe keys): each message names the key, the bad value and
what is expected, in the spelling a recipe or ``--set key=value`` uses."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def check_number(
    key: str,
    value: Any,
    *,
    integer: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    open_minimum: bool = False,
    optional: bool = False,
) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number (an integer if asked) in range.

    Booleans are not numbers here; ``None`` passes only when ``optional``.

    Example:
        >>> check_number("knn_k", 20, integer=True, minimum=1)
        >>> check_number("knn_k", "abc", integer=True, minimum=1)
        Traceback (most recent call last):
        ...
        ValueError: knn_k must be an integer >= 1, got 'abc'
    """
    if optional and value is None:
        return
    kind = "an integer" if integer else "a finite number"
    bounds = []
    if minimum is not None:
        bounds.append(f"{'>' if open_minimum else '>='} {minimum:g}")
    if maximum is not None:
        bounds.append(f"<= {maximum:g}")
    expected = f"{kind} {' and '.join(bounds)}".strip()
    valid = not isinstance(value, bool) and isinstance(value, int if integer else int | float)
    if valid:
        number = float(value)
        valid = math.isfinite(number)
        if valid and minimum is not None:
            valid = number > minimum if open_minimum else number >= minimum
        if valid and maximum is not None:
            valid = number <= maximum
    if not valid:
        raise ValueError(f"{key} must be {expected}, got {value!r}")


def check_choice(key: str, value: Any, choices: Sequence[str]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``.

    Example:
        >>> check_choice("views", "dropout", ["dropout", "token_cutoff"])
    """
    if value not in choices:
        raise ValueError(f"{key} must be one of {', '.join(map(str, choices))}; got {value!r}")


def check_list(key: str, value: Any, *, nonempty: bool = True) -> list[Any]:
    """``value`` as a list; raise ``ValueError`` unless it is a list (non-empty if asked).

    Example:
        >>> check_list("probe_seeds", [0, 1])
        [0, 1]
    """
    if not isinstance(value, list | tuple) or (nonempty and not value):
        kind = "a non-empty list" if nonempty else "a list"
        raise ValueError(f"{key} must be {kind} (e.g. {key} = [1, 2] in TOML), got {value!r}")
    return list(value)
