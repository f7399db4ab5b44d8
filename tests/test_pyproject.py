"""Packaging metadata: the licence in the SPDX form that setuptools keeps supporting."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_license_is_an_spdx_expression_with_a_setuptools_that_reads_it() -> None:
    pyproject = tomllib.loads(PYPROJECT.read_text())
    # the table form ({ text = ... }) is deprecated and stops working in February 2027
    assert pyproject["project"]["license"] == "Apache-2.0"
    # setuptools 77 is the first to read a PEP 639 licence expression
    assert "setuptools>=77" in pyproject["build-system"]["requires"]
    classifiers = pyproject["project"].get("classifiers", [])
    assert not [c for c in classifiers if c.startswith("License ::")]  # PEP 639: not both
