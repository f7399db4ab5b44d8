"""write_atomically: whole files or none, with the permissions ``open`` would give."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import BinaryIO

import pytest

from contrastkit.data.atomic_write import write_atomically


def test_writes_the_content_and_creates_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "new" / "file.bin"
    assert write_atomically(target, lambda handle: handle.write(b"abc"), fsync=True) == target
    assert target.read_bytes() == b"abc"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.bin"]


def test_permissions_follow_the_umask(tmp_path: Path, umask_022: int) -> None:
    target = write_atomically(tmp_path / "file.bin", lambda handle: handle.write(b"abc"))
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"abc")
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o644


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")

    def broken(handle: BinaryIO) -> None:
        handle.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, broken)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]
