"""End-to-end tests of the command line, called in-process through ``cli.main``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from contrastkit import __version__
from contrastkit.cli import main

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "simclr_digits.toml"
SHORT = [
    "--set",
    "epochs=2",
    "--set",
    "warmup_epochs=1",
    "--set",
    "probe_seeds=[0]",
    "--set",
    "label_fractions=[1.0]",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "--recipe", str(RECIPE), *SHORT, "--out", str(out)]) == 0
    return out


def test_train_writes_a_run_folder(run_dir: Path) -> None:
    for name in ("recipe.json", "checkpoint.pt", "metrics.jsonl", "eval.json", "report.html"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "recipe.json").read_text())["epochs"] == 2


def test_eval_json_lines(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(run_dir), "--protocol", "knn", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["protocol"] for r in records] == ["knn"]
    assert (
        set(records[0]) == {"protocol", "params", "metrics"}
        and 0 <= records[0]["metrics"]["top1"] <= 1
    )


def test_eval_table(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(run_dir)]) == 0
    assert "kNN top-1" in capsys.readouterr().out


def test_report_command_rewrites_the_report(run_dir: Path) -> None:
    (run_dir / "report.html").unlink()
    assert main(["report", str(run_dir), "--max-points", "100"]) == 0
    assert 'id="embedding-map"' in (run_dir / "report.html").read_text()


def test_embed_writes_features(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "features.npy"
    assert main(["embed", str(run_dir), "--split", "test", "--out", str(out)]) == 0
    features = np.load(out)
    assert features.shape[0] == 450 and np.isfinite(features).all()


def test_views_grid(tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    assert (
        main(["views", "--data", "digits", "--recipe", "digits", "--size", "8", "--out", str(out)])
        == 0
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_losses_lists_every_registered_loss(capsys: pytest.CaptureFixture[str]) -> None:
    from contrastkit.registry import LOSSES

    assert main(["losses"]) == 0
    out = capsys.readouterr().out
    for name, entry in LOSSES.items():
        assert name in out and entry.module.__name__ in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--recipe", "missing.toml", "--out", "x"], "does not exist"),
        (
            ["train", "--recipe", str(RECIPE), "--set", "method=nope", "--out", "x"],
            "unknown method",
        ),
        (["train", "--recipe", str(RECIPE), "--set", "temperature=0", "--out", "x"], "temperature"),
        (["eval", "not-a-run"], "not a run folder"),
        (["train", "--recipe", str(RECIPE), "--set", 'proj_dim="abc"', "--out", "x"], "number"),
        (["nonsense"], "invalid choice"),
        # values are checked before any data is read or step is trained, naming the key
        *(
            (["train", "--recipe", str(RECIPE), "--set", setting, "--out", "x"], key)
            for setting, key in [
                ("lr=abc", "lr"),
                ("lr=", "lr"),
                ("lr=inf", "lr"),
                ("batch_size=abc", "batch_size"),
                ("warmup_epochs=abc", "warmup_epochs"),
                ("max_steps=abc", "max_steps"),
                ("knn_k=0", "knn_k"),
                ("label_fractions=[2.0]", "label_fractions"),
                ('protocols=["knn", "bogus"]', "bogus"),
                ("foo=1", "unknown recipe key 'foo'"),
                ("max_length=16", "'max_length' is a recipe key of text runs"),
                ("zero_shot_limit=5", "'zero_shot_limit' is a recipe key of image_text runs"),
                ("image_size=0", "image_size"),
                ("views=dropout", "views must be one of"),
            ]
        ),
        (
            ["sweep", "--recipe", str(RECIPE), "--set", "temperature=0.1,abc", "--out", "x"],
            "temperature",
        ),
    ],
)
def test_user_errors_exit_2_with_a_message(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x" / "checkpoint.pt").exists()  # nothing was trained


def test_an_unknown_key_lists_the_valid_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--recipe", str(RECIPE), "--set", "foo=1", "--out", "x"]) == 2
    err = capsys.readouterr().err
    for key in ("dataset", "image_size", "epochs", "knn_k", "label_fractions", "temperature"):
        assert key in err
    assert "max_length" not in err  # a text key is not offered to an image run


def test_ctrl_c_exits_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from contrastkit.run import Run

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Run, "train", interrupt)
    assert main(["train", "--recipe", str(RECIPE), "--out", str(tmp_path / "r")]) == 130
    assert capsys.readouterr().err == "contrastkit train: interrupted\n"

    def abort(*args: object, **kwargs: object) -> None:  # what a second Ctrl-C raises
        from contrastkit.train.interrupt import StopRequest

        raise KeyboardInterrupt(StopRequest.ABORTED)

    monkeypatch.setattr(Run, "train", abort)
    assert main(["train", "--recipe", str(RECIPE), "--out", str(tmp_path / "r")]) == 130
    err = capsys.readouterr().err
    assert "second Ctrl-C" in err and "Traceback" not in err


def test_warnings_print_as_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import warnings

    import contrastkit.cli as cli

    def warn(args: object) -> int:  # how Python shows a warning while a command runs
        print(warnings.formatwarning("something to know", UserWarning, "/deep/x.py", 12, "code"))
        return 0

    monkeypatch.setattr(cli, "_losses", warn)
    assert main(["losses"]) == 0
    assert capsys.readouterr().out == "warning: something to know\n\n"


def test_eval_on_a_read_only_folder_prints_then_reports_the_write_error(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import shutil

    if os.geteuid() == 0:
        pytest.skip("root writes to read-only folders")
    folder = tmp_path / "read-only"
    shutil.copytree(run_dir, folder)
    (folder / "eval.json").unlink()
    folder.chmod(0o555)
    try:
        assert main(["eval", str(folder), "--protocol", "knn"]) == 2
    finally:
        folder.chmod(0o755)
    captured = capsys.readouterr()
    assert "kNN top-1" in captured.out and "cannot write" in captured.err


def test_eval_when_eval_json_cannot_be_written(
    run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same as a read-only folder, for a test run as root: the results print first."""
    from contrastkit.run import Run

    def refuse(self: Run, records: object) -> None:
        raise OSError(f"cannot write {self.folder / 'eval.json'}: Read-only file system")

    monkeypatch.setattr(Run, "save_eval", refuse)
    assert main(["eval", str(run_dir), "--protocol", "knn"]) == 2
    captured = capsys.readouterr()
    assert "kNN top-1" in captured.out and "Read-only file system" in captured.err


def test_a_corrupt_checkpoint_is_one_safe_line(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    for content in (b"", b"garbage, not a checkpoint"):
        folder = tmp_path / f"broken{len(content)}"
        shutil.copytree(run_dir, folder)
        (folder / "checkpoint.pt").write_bytes(content)
        assert main(["eval", str(folder), "--protocol", "knn"]) == 2
        err = capsys.readouterr().err
        assert "checkpoint.pt" in err and "weights_only=False" not in err
        assert "()" not in err and len(err.strip().splitlines()) == 1


def test_version_starts_without_importing_torch() -> None:
    code = (
        "import sys; from contrastkit.cli import main; main(['--version']); "
        "sys.exit('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_diverged_training_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from contrastkit.run import Run
    from contrastkit.train import TrainingDivergedError

    def diverge(*args: object, **kwargs: object) -> None:
        raise TrainingDivergedError("loss became nan at step 3")

    monkeypatch.setattr(Run, "train", diverge)
    assert main(["train", "--recipe", str(RECIPE), "--out", "unused"]) == 1
    assert "nan at step 3" in capsys.readouterr().err


def test_version_and_python_dash_m(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out
    done = subprocess.run(
        [sys.executable, "-m", "contrastkit", "losses"], capture_output=True, text=True, check=True
    )
    assert "nt_xent" in done.stdout


def _image_folder(root: Path, corrupt: bool) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        folder = root / "train" / label
        folder.mkdir(parents=True)
        for index in range(12):
            pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{index}.png")
    if corrupt:
        (root / "train" / "cat" / "broken.png").write_bytes(b"not a png")
    return root


def test_a_budget_stop_is_evaluated_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["train", "--recipe", str(RECIPE), *SHORT, "--set", "max_steps=3", "--out", str(out)]
    assert main(argv) == 0
    assert "max_steps after 3 steps" in capsys.readouterr().out
    assert (out / "eval.json").is_file() and (out / "report.html").is_file()


def test_corrupt_files_error_or_are_skipped_with_a_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _image_folder(tmp_path / "images", corrupt=True)
    argv = [
        "train",
        "--recipe",
        str(RECIPE),
        "--set",
        f"dataset='{data}'",
        "--set",
        "views='simclr'",
        "--set",
        "batch_size=8",
        "--set",
        "max_steps=2",
        "--set",
        "warmup_epochs=0",
        "--out",
        str(tmp_path / "run"),
        "--no-eval",
    ]
    assert main(argv) == 2
    assert "broken.png" in capsys.readouterr().err
    assert main([*argv, "--skip-corrupt"]) == 0
    assert "skipped 1 unreadable image files" in capsys.readouterr().out


def test_resuming_with_a_changed_recipe_is_refused(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (run_dir / "recipe.json").read_text()
    argv = [
        "train",
        "--recipe",
        str(RECIPE),
        *SHORT,
        "--set",
        "temperature=0.9",
        "--out",
        str(run_dir),
    ]
    assert main(argv) == 2
    assert "temperature: 0.2 -> 0.9" in capsys.readouterr().err
    assert (run_dir / "recipe.json").read_text() == before


def _mixed_sizes(root: Path) -> Path:
    from PIL import Image

    rng = np.random.default_rng(1)
    for label in ("cat", "dog"):
        folder = root / label
        folder.mkdir(parents=True)
        for index in range(10):
            side = 12 + index  # photos come in every size
            pixels = rng.integers(0, 256, (side, side + 3, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{index}.png")
    return root


def test_a_folder_of_mixed_sizes_trains_with_load_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _mixed_sizes(tmp_path / "photos")
    argv = [
        "train",
        "--recipe",
        str(RECIPE),
        *("--set", f"dataset='{data}'", "--set", "train_split='all'", "--set", "test_split='all'"),
        *("--set", "views='simclr'", "--set", "image_size=8", "--set", "batch_size=8"),
        *("--set", "max_steps=2", "--set", "warmup_epochs=0", "--no-eval", "--no-report"),
        "--out",
        str(tmp_path / "run"),
    ]
    assert main(argv) == 2
    assert "load_size" in capsys.readouterr().err  # the message names the recipe key
    assert main([*argv, "--set", "load_size=16"]) == 0
    out = tmp_path / "features.npy"
    assert main(["embed", str(tmp_path / "run"), "--split", "all", "--out", str(out)]) == 0
    assert np.load(out).shape[0] == 20


def test_embed_skips_corrupt_files_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _image_folder(tmp_path / "images", corrupt=False)
    argv = [
        "train",
        "--recipe",
        str(RECIPE),
        *("--set", f"dataset='{data}'", "--set", "views='simclr'", "--set", "batch_size=8"),
        *("--set", "max_steps=1", "--set", "warmup_epochs=0", "--no-eval", "--no-report"),
        "--out",
        str(tmp_path / "run"),
    ]
    assert main(argv) == 0
    (data / "train" / "cat" / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "features.npy"
    embed = ["embed", str(tmp_path / "run"), "--split", "train", "--out", str(out)]
    assert main(embed) == 2
    assert "broken.png" in capsys.readouterr().err
    assert main([*embed, "--skip-corrupt"]) == 0
    assert "skipped 1 unreadable" in capsys.readouterr().out
    assert np.load(out).shape[0] == 24
