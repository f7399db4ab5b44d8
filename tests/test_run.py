"""The run object: the trained model and decoded data handed forward, the Python front door,
and evaluation protocols as registered objects (a toy protocol, through the CLI and report)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

import contrastkit
from contrastkit.cli import main
from contrastkit.eval.protocol import EvalProtocol, LabelledFeatures
from contrastkit.modalities.image import modality as image_modality
from contrastkit.registry import PROTOCOLS, register_protocol
from contrastkit.report import analysis

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "simclr_digits.toml"
SHORT = ["epochs=2", "warmup_epochs=1", "probe_seeds=[0]", "label_fractions=[1.0]"]


def test_one_train_command_decodes_each_split_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[tuple[str, str]] = []
    decode = image_modality.load_dataset

    def counted(name: Any, split: str = "train", **options: Any) -> Any:
        loads.append((str(name), split))
        return decode(name, split, **options)

    monkeypatch.setattr(image_modality, "load_dataset", counted)
    encoded: list[int] = []
    encode = analysis.encode_dataset

    def counted_encode(method: Any, dataset: Any, views: Any, **options: Any) -> Any:
        encoded.append(len(dataset))
        return encode(method, dataset, views, **options)

    monkeypatch.setattr(analysis, "encode_dataset", counted_encode)
    argv = ["train", "--recipe", str(RECIPE), "--out", str(tmp_path / "run")]
    assert main([*argv, *(x for s in SHORT for x in ("--set", s))]) == 0  # train, eval, report
    assert sorted(loads) == [("digits", "test"), ("digits", "train")]
    assert encoded == []  # the report reuses the features evaluation computed
    assert (tmp_path / "run" / "report.html").is_file()
    assert main(["report", str(tmp_path / "run"), "--max-points", "50"]) == 0
    assert encoded == [50, 1347]  # alone, the report encodes only its samples


def test_python_front_door_mirrors_the_cli(tmp_path: Path) -> None:
    run = contrastkit.train_run(RECIPE, tmp_path / "run", overrides=SHORT, max_steps=3)
    assert isinstance(run, contrastkit.Run) and run.recipe.train.max_steps == 3
    records = run.evaluate(["knn"])
    assert [r["protocol"] for r in records] == ["knn"]
    assert (tmp_path / "run" / "eval.json").is_file()
    features, what = run.embed(split="test")
    assert features.shape[0] == 450 and "digits" in what
    assert run.report().name == "report.html"
    again = contrastkit.load_run(tmp_path / "run")
    assert again.evaluate(["knn"], save=False) == records  # the same weights from the folder
    torch.testing.assert_close(again.embed(split="test")[0], features)
    assert "kNN top-1" in contrastkit.format_table({"run": records})


def test_a_new_protocol_is_one_registration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    @dataclass(frozen=True)
    class CentroidParams:
        centroid_shrink: float = 0.0  # a recipe key of the toy protocol

    def nearest_centroid(context: LabelledFeatures, params: CentroidParams) -> list[dict]:
        train, train_labels = context.labelled_features("train")
        test, test_labels = context.labelled_features("test")
        classes = int(train_labels.max()) + 1
        centroids = torch.stack([train[train_labels == c].mean(0) for c in range(classes)])
        centroids = centroids * (1 - params.centroid_shrink)
        predicted = torch.cdist(test, centroids).argmin(1)
        accuracy = float((predicted == test_labels).float().mean())
        settings = {"shrink": params.centroid_shrink}
        return [{"protocol": "centroid", "params": settings, "metrics": {"top1": accuracy}}]

    def cells(record: dict) -> list[tuple[str, str]]:
        return [("centroid top-1", f"{record['metrics']['top1']:.4f}")]

    monkeypatch.setitem(PROTOCOLS, "knn", PROTOCOLS["knn"])  # restores the table afterwards
    toy = EvalProtocol("centroid", ("image",), nearest_centroid, CentroidParams, cells)
    register_protocol(toy)
    try:
        argv = ["train", "--recipe", str(RECIPE), "--out", str(tmp_path / "run")]
        argv += [x for s in [*SHORT, "centroid_shrink=0.5"] for x in ("--set", s)]
        assert main([*argv, "--set", 'protocols=["centroid"]']) == 0
        assert "centroid top-1" in capsys.readouterr().out
        assert main(["eval", str(tmp_path / "run"), "--protocol", "centroid,knn"]) == 0
        out = capsys.readouterr().out
        assert "centroid top-1" in out and "kNN top-1" in out
        report = (tmp_path / "run" / "report.html").read_text()
        assert main(["report", str(tmp_path / "run"), "--max-points", "50"]) == 0
        report = (tmp_path / "run" / "report.html").read_text()
        assert "centroid top-1" in report and "shrink=0.5" in report
    finally:
        PROTOCOLS.pop("centroid")


def test_protocols_check_their_parameters_before_training() -> None:
    from contrastkit.recipe import recipe_from_dict

    with pytest.raises(ValueError, match="knn_k must be an integer >= 1, got 0"):
        recipe_from_dict({"method": "simclr", "knn_k": 0})
    with pytest.raises(ValueError, match="zero_shot_limit"):
        recipe_from_dict({"method": "two_tower", "zero_shot_limit": -1})
    recipe = recipe_from_dict({"method": "simcse", "eval_data": "stsb_dev"})
    assert recipe.params("sts").eval_data == "stsb_dev" and recipe.protocols == ["sts"]
    assert recipe.with_eval(data="stsb").params("sts").eval_data == "stsb"
    with pytest.raises(ValueError, match="--data applies to no protocol"):
        recipe_from_dict({"method": "simclr"}).with_eval(data="x")


def test_a_run_folder_records_its_model_spec(tmp_path: Path) -> None:
    run = contrastkit.train_run(RECIPE, tmp_path / "run", overrides=SHORT, max_steps=1)
    assert run.spec == {"in_channels": 1}
    assert (tmp_path / "run" / "model.json").read_text().strip().startswith("{")
    with pytest.raises(ValueError, match="not a run folder"):
        contrastkit.load_run(tmp_path / "nothing")
