"""The HTML run report: every section, embedded figures only, notes for what a run lacks."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from contrastkit.cli import main
from contrastkit.eval.health import HEALTH_KEYS
from contrastkit.report import write_report

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "simclr_digits.toml"
SECTIONS = (
    "configuration",
    "training-curves",
    "health",
    "evaluation",
    "embedding-map",
    "similarities",
    "neighbours",
)
IMAGE = re.compile(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="([^"]*)">')
FIGURES = (
    "training curves",
    "health",
    "embedding map",
    "similarity histogram",
    "nearest neighbours",
)
EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-epoch SimCLR run on digits, trained and evaluated with the real CLI."""
    out = tmp_path_factory.mktemp("report") / "tiny"
    code = main(
        [
            "train",
            "--recipe",
            str(RECIPE),
            "--set",
            "epochs=2",
            "--set",
            "warmup_epochs=1",
            "--set",
            "probe_seeds=[0]",
            "--set",
            "label_fractions=[1.0]",
            "--set",
            "health_every=5",
            "--set",
            "progress_bar=false",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def _copy(run: Path, target: Path) -> Path:
    shutil.copytree(run, target, ignore=shutil.ignore_patterns("report.html"))
    return target


def _strip_health(run: Path) -> None:
    path = run / "metrics.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines() if line]
    stripped = [{k: v for k, v in record.items() if k not in HEALTH_KEYS} for record in records]
    path.write_text("".join(json.dumps(record) + "\n" for record in stripped))


def test_report_has_every_section_and_embeds_its_figures(tiny_run: Path, tmp_path: Path) -> None:
    run = _copy(tiny_run, tmp_path / "with_health")
    assert "effective_rank" in (run / "metrics.jsonl").read_text()  # the monitor ran

    path = write_report(run, max_points=120, neighbours=3, queries=2)

    assert path == run / "report.html" and path.is_file()
    page = path.read_text()
    for section in SECTIONS:
        assert f'<h2 id="{section}"' in page, section
    assert set(FIGURES) <= set(IMAGE.findall(page))
    assert not EXTERNAL.search(page)
    assert "<script" not in page
    assert "<title>contrastkit report: with_health</title>" in page
    assert "<td>simclr</td>" in page  # the configuration names the method
    for foreign in ("max_length", "text_encoder", "zero_shot_limit", "eval_data"):
        assert f"<td>{foreign}</td>" not in page  # only the image run's own keys
    assert "kNN top-1 (k=20)" in page  # each record as its protocol prints it
    assert "knn" in page and "linear" in page  # the evaluation table
    assert "no health metrics logged" not in page
    assert "t-SNE" in page
    assert path.stat().st_size < 1_000_000


def test_report_without_health_or_evaluation_says_so(tiny_run: Path, tmp_path: Path) -> None:
    run = _copy(tiny_run, tmp_path / "bare")
    _strip_health(run)
    (run / "eval.json").unlink()

    page = write_report(run, max_points=60, neighbours=2, queries=1).read_text()

    for section in SECTIONS:
        assert f'<h2 id="{section}"' in page, section
    assert "no health metrics logged" in page
    assert "not evaluated; run contrastkit eval" in page
    assert set(IMAGE.findall(page)) >= set(FIGURES) - {"health"}
    assert "health" not in IMAGE.findall(page)
    assert not EXTERNAL.search(page)


def test_report_of_a_run_without_checkpoint_notes_the_skipped_sections(tmp_path: Path) -> None:
    run = tmp_path / "early"
    run.mkdir()
    recipe = {"method": "simclr", "dataset": "digits", "note": "<b>escaped</b>"}
    (run / "recipe.json").write_text(json.dumps(recipe))

    page = write_report(run).read_text()

    for section in SECTIONS:
        assert f'<h2 id="{section}"' in page, section
    assert "no metrics logged" in page
    assert page.count("the run has no checkpoint.pt yet") == 3
    assert "train it first" in page and "run contrastkit eval" not in page  # advice that works
    assert "&lt;b&gt;escaped&lt;/b&gt;" in page and "<b>escaped</b>" not in page


def test_report_of_a_folder_that_is_not_a_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a run folder"):
        write_report(tmp_path)
