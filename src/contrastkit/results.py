"""Evaluation records as a plain-text table, each record printed as its protocol says."""

from __future__ import annotations

import json
from typing import Any

from contrastkit.registry import PROTOCOLS


def record_cells(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The table columns of one record, ``(column name, formatted value)``, from its
    registered protocol (matched by name or by one of its ``record_names``)."""
    name = record.get("protocol")
    for protocol in PROTOCOLS.values():
        if name == protocol.name or name in protocol.record_names:
            return protocol.cells(record)
    return [(str(name), json.dumps(record.get("metrics"))[:40])]


def format_table(rows: dict[str, list[dict[str, Any]]]) -> str:
    """A plain-text table: one row per representation, one column per protocol record.

    Example:
        >>> print(format_table({"raw": [{"protocol": "knn", "params": {"k": 5},
        ...                              "metrics": {"top1": 0.5}}]}))
        representation  kNN top-1 (k=5)
        raw             0.5000
    """
    columns: list[str] = []
    cells: dict[str, dict[str, str]] = {}
    for name, records in rows.items():
        cells[name] = dict(cell for record in records for cell in record_cells(record))
        columns += [c for c in cells[name] if c not in columns]
    width = max(len("representation"), *(len(name) for name in rows))
    sizes = [max(len(c), *(len(cells[n].get(c, "")) for n in rows)) for c in columns]
    header = "  ".join(
        ["representation".ljust(width), *(c.ljust(s) for c, s in zip(columns, sizes, strict=True))]
    )
    lines = [header.rstrip()]
    for name in rows:
        values = [cells[name].get(c, "").ljust(s) for c, s in zip(columns, sizes, strict=True)]
        lines.append("  ".join([name.ljust(width), *values]).rstrip())
    return "\n".join(lines)
