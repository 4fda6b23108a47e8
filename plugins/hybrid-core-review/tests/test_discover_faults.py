"""Discovery in hostile trees: every odd entry is a skipped finding, a bad root an error.

Everything here is a real file system object: FIFOs, symlinks (loops, to devices, to
folders), sparse files over the size limit, names that are not UTF-8.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from hybrid_core_review import DEFAULT_MAX_FILE_BYTES, discover, display_path

from hybrid_core import PayloadError


def skipped(found: dict[str, Any]) -> dict[str, str]:
    return {s["path"]: s["kind"] for s in found["skipped"]}


def reviewed(found: dict[str, Any]) -> list[str]:
    return [f["relpath"] for f in found["files"]]


def discover_or_hang(root: Path, **options: Any) -> dict[str, Any]:
    """discover() in a thread: a FIFO opened for reading would block it forever."""
    box: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: box.update(found=discover(str(root), **options)))
    worker.daemon = True
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "discover() blocked: it opened a FIFO"
    return box["found"]


def test_special_files_are_never_opened_but_reported(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    os.mkfifo(tmp_path / "p.py")
    (tmp_path / "z.py").symlink_to("/dev/zero")
    (tmp_path / "null.py").symlink_to("/dev/null")
    found = discover_or_hang(tmp_path)
    assert reviewed(found) == ["a.py"]
    assert skipped(found) == {"null.py": "special-file", "p.py": "special-file",
                              "z.py": "special-file"}  # fmt: skip
    reasons = {s["path"]: s["reason"] for s in found["skipped"]}
    assert "FIFO" in reasons["p.py"] and "character device" in reasons["z.py"]


def test_symlink_loops_broken_links_and_folder_links_are_reported(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_text("")
    (tmp_path / "self.py").symlink_to("self.py")
    (tmp_path / "ping.py").symlink_to("pong.py")
    (tmp_path / "pong.py").symlink_to("ping.py")
    (tmp_path / "gone.py").symlink_to("nowhere.py")
    (tmp_path / "alias.py").symlink_to("real.py")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to("..")  # a folder loop
    found = discover(str(tmp_path))
    assert reviewed(found) == ["alias.py", "real.py"]
    assert skipped(found) == {
        "gone.py": "broken-symlink",
        "ping.py": "symlink-loop",
        "pong.py": "symlink-loop",
        "self.py": "symlink-loop",
        "sub/up": "symlink-folder",
    }
    # A symlinked file keeps its own path: the report names what is in the tree.
    assert found["files"][0]["path"] == str(tmp_path / "alias.py")


def test_files_over_the_limit_are_skipped_before_reading(tmp_path: Path) -> None:
    with (tmp_path / "huge.py").open("wb") as f:
        f.truncate(20 * 1024 * 1024)  # sparse: 20 MB that cost no disk
    (tmp_path / "edge.py").write_bytes(b"#" * 100)
    (tmp_path / "over.py").write_bytes(b"#" * 101)
    assert skipped(discover(str(tmp_path))) == {"huge.py": "too-large"}
    found = discover(str(tmp_path), max_file_bytes=100)
    assert reviewed(found) == ["edge.py"]
    assert skipped(found) == {"huge.py": "too-large", "over.py": "too-large"}
    reason = next(s["reason"] for s in found["skipped"] if s["path"] == "over.py")
    assert reason == "101 bytes, over the limit of 100 (input max_file_bytes)"
    assert DEFAULT_MAX_FILE_BYTES == 2 * 1024 * 1024


@pytest.mark.parametrize("limit", [0, -1, True, "2MB", 1.5])
def test_a_bad_size_limit_names_the_input(tmp_path: Path, limit: Any) -> None:
    with pytest.raises(PayloadError, match="input 'max_file_bytes' must be a whole number"):
        discover(str(tmp_path), max_file_bytes=limit)


def test_names_that_are_not_utf8_are_reported_printably(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path)
    with open(root + b"/\xff.py", "w") as f:
        f.write("x = 1\n")
    os.mkdir(root + b"/\xfedir")
    with open(root + b"/\xfedir/inside.py", "w") as f:
        f.write("")
    (tmp_path / "ok.py").write_text("")
    found = discover(str(tmp_path))
    assert reviewed(found) == ["ok.py"]
    assert skipped(found) == {"\\xfedir": "undecodable-name", "\\xff.py": "undecodable-name"}
    for entry in found["skipped"]:
        entry["path"].encode("utf-8")  # every writer can encode it
    assert display_path(os.fsdecode(b"a\xffb")) == "a\\xffb"
    assert display_path("caf\u00e9") == "caf\u00e9"


def test_an_unreadable_folder_is_reported(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip(
            "root reads a folder whatever its mode; tests/test_review_e2e.py covers this "
            "with the CLI run without root's file-access capabilities"
        )
    (tmp_path / "a.py").write_text("")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "hidden.py").write_text("")
    locked.chmod(0)
    try:
        found = discover(str(tmp_path))
    finally:
        locked.chmod(0o755)
    assert reviewed(found) == ["a.py"] and skipped(found) == {"locked": "unreadable"}


def test_bad_roots_are_errors_naming_the_input_and_the_fix(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.py")
    (tmp_path / "notes.txt").write_text("")
    cases = {
        "": "input 'path' must name a folder or a .py file to review, e.g. path=src",
        str(tmp_path / "nope"): "does not exist; give a folder or a .py file",
        "/dev/null": "is a character device; give a folder or a .py file",
        str(tmp_path / "fifo.py"): "is a FIFO",
        str(tmp_path / "notes.txt"): "is a file the include globs ['*.py'] do not match",
    }
    for root, message in cases.items():
        with pytest.raises(PayloadError) as caught:
            discover(root)
        assert message in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(PayloadError, match="input 'path' must name a folder"):
        discover(3)  # type: ignore[arg-type]


def test_a_single_file_root_is_checked_like_any_file(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_bytes(b"#" * 10)
    assert skipped(discover(str(tmp_path / "big.py"), max_file_bytes=5)) == {"big.py": "too-large"}
    assert reviewed(discover(str(tmp_path / "big.py"))) == ["big.py"]
