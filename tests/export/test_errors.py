"""Bad input to ``contrastkit export`` and ``contrastkit.load_model``: one line naming the
options, exit 2 from the command line, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

import contrastkit
from contrastkit.cli import main
from contrastkit.registry import EXPORT_FORMATS


def export(run: Path, format: str, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The one-line error of a failed ``contrastkit export`` (asserting exit 2)."""
    assert main(["export", str(run), "--format", format, "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and error.startswith("contrastkit export: error: ")
    assert not out.exists()
    return error


def test_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "folder").mkdir()
    error = export(tmp_path / "folder", "onnx", tmp_path / "out", capsys)
    assert "is not a run folder (no recipe.json)" in error
    error = export(tmp_path / "missing", "onnx", tmp_path / "out", capsys)
    assert "is not a run folder" in error


def test_unknown_format_names_the_formats(
    digits_run: contrastkit.Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = export(digits_run.folder, "torchscript", tmp_path / "out", capsys)
    assert "unknown export format 'torchscript'" in error
    assert all(name in error for name in EXPORT_FORMATS)
    assert "(backbone, onnx for image runs)" in error


@pytest.mark.parametrize("format", ["sentence-transformers", "huggingface", "two_tower"])
def test_format_of_another_modality(
    format: str, digits_run: contrastkit.Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = export(digits_run.folder, format, tmp_path / "out", capsys)
    assert f"format {format!r} does not apply to image runs; choose one of backbone, onnx" in error


def test_text_run_refuses_image_formats(
    small_text_run: contrastkit.Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = export(small_text_run.folder, "backbone", tmp_path / "out", capsys)
    assert "choose one of sentence-transformers, huggingface, onnx" in error


def test_missing_format_is_a_usage_error(digits_run: contrastkit.Run, tmp_path: Path) -> None:
    assert main(["export", str(digits_run.folder), "--out", str(tmp_path / "out")]) == 2


def test_out_must_be_new_or_empty(
    digits_run: contrastkit.Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    assert (
        main(
            ["export", str(digits_run.folder), "--format", "onnx", "--out", str(tmp_path / "file")]
        )
        == 2
    )
    assert "not an empty folder; choose a new one" in capsys.readouterr().err


def test_load_model_errors(digits_run: contrastkit.Run, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a contrastkit export"):
        contrastkit.load_model(digits_run.folder)
    out = digits_run.export("onnx", tmp_path / "onnx")
    with pytest.raises(ValueError, match=r"reads backbone, two_tower\); its README\.md says how"):
        contrastkit.load_model(out)
