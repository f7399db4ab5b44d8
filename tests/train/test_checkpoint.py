"""Checkpoints are written atomically and read without unpickling arbitrary objects."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import torch

from contrastkit.train import load_checkpoint, save_checkpoint


def test_round_trip(tmp_path: Path) -> None:
    state = {"model": {"w": torch.arange(3.0)}, "position": {"step": 3}}
    save_checkpoint(tmp_path / "c.pt", state)
    loaded = load_checkpoint(tmp_path / "c.pt")
    assert (
        torch.equal(loaded["model"]["w"], state["model"]["w"]) and loaded["position"]["step"] == 3
    )


def test_failed_write_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_checkpoint(tmp_path / "c.pt", {"model": {"w": torch.zeros(2)}})

    def broken_save(obj: object, file: object) -> None:
        file.write(b"partial")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path / "c.pt", {"model": {"w": torch.ones(2)}})
    monkeypatch.undo()
    assert torch.equal(load_checkpoint(tmp_path / "c.pt")["model"]["w"], torch.zeros(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


class Arbitrary:
    pass


def test_refuses_pickled_objects_and_garbage(tmp_path: Path) -> None:
    torch.save({"model": Arbitrary()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match=r"evil\.pt"):
        load_checkpoint(tmp_path / "evil.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt"):
        load_checkpoint(tmp_path / "garbage.pt")
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_garbage_is_one_clear_line_that_never_suggests_unsafe_loading(tmp_path: Path) -> None:
    torch.save({"model": Arbitrary()}, tmp_path / "evil.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    for name in ("evil.pt", "garbage.pt"):
        with pytest.raises(ValueError) as caught:
            load_checkpoint(tmp_path / name)
        message = str(caught.value)
        assert "weights_only" not in message and "\n" not in message
        assert str(tmp_path / name) in message and "delete it" in message


def test_empty_file_says_it_is_empty(tmp_path: Path) -> None:
    (tmp_path / "checkpoint.pt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"checkpoint\.pt is empty \(0 bytes\); delete it"):
        load_checkpoint(tmp_path / "checkpoint.pt")


def test_checkpoint_permissions_follow_the_umask(tmp_path: Path, umask_022: int) -> None:
    path = save_checkpoint(tmp_path / "checkpoint.pt", {"model": {"w": torch.zeros(2)}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
