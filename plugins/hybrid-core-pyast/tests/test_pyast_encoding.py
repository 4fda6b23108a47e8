"""Files are decoded as CPython decodes them: BOM, PEP 263 declarations, else UTF-8.

Each case also runs ``compile()`` (what ``import`` uses) on the same bytes, so the test
pins agreement with the interpreter, not only a fixed answer.
"""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

import pytest

from hybrid_core_pyast import run_lint, run_parse

BOM = b"\xef\xbb\xbf"


def compiles(data: bytes) -> str | None:
    """None when CPython compiles ``data``, else its SyntaxError's message."""
    try:
        compile(data, "f.py", "exec")
    except SyntaxError as exc:
        return exc.msg
    return None


def write(tmp_path: Path, data: bytes) -> str:
    file = tmp_path / "f.py"
    file.write_bytes(data)
    return str(file)


@pytest.mark.parametrize(
    ("declaration", "encoding", "text"),
    [
        ("# -*- coding: latin-1 -*-", "latin-1", "café"),
        ("# coding: koi8-r", "koi8-r", "привет"),
        ("# vim: set fileencoding=cp1252 :", "cp1252", "€uro"),
    ],
)
def test_a_declared_encoding_decodes_and_its_findings_are_kept(
    tmp_path: Path, declaration: str, encoding: str, text: str
) -> None:
    source = f"{declaration}\nimport os\nx = {text!r}\n"
    data = source.encode(encoding)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the old reading refused these files
    assert compiles(data) is None
    path = write(tmp_path, data)
    assert run_parse({"path": path})["ok"] is True
    lint = run_lint({"path": path})
    assert [(p["line"], p["code"]) for p in lint["problems"]] == [(2, "UnusedImport")]


def test_the_decoded_text_is_what_the_interpreter_reads(tmp_path: Path) -> None:
    data = "# coding: koi8-r\nimport os  # noqa: F401 привет\n".encode("koi8-r")
    lint = run_lint({"path": write(tmp_path, data)})
    assert (lint["problems"], lint["suppressed"]) == ([], 1)


def test_a_declaration_on_line_2_after_a_shebang_counts(tmp_path: Path) -> None:
    data = "#!/usr/bin/env python\n# coding: latin-1\nx = 'é'\n".encode("latin-1")
    assert compiles(data) is None
    assert tokenize.detect_encoding(io.BytesIO(data).readline)[0] == "iso-8859-1"
    assert run_parse({"path": write(tmp_path, data)})["ok"] is True


def test_a_declaration_on_line_3_is_ignored(tmp_path: Path) -> None:
    data = "#!/usr/bin/env python\n\n# coding: latin-1\nx = 'é'\n".encode("latin-1")
    assert compiles(data) is not None
    assert tokenize.detect_encoding(io.BytesIO(data).readline)[0] == "utf-8"
    error = run_parse({"path": write(tmp_path, data)})["error"]
    assert (error["kind"], error["line"], error["column"]) == ("encoding", 4, 6)
    assert error["message"].endswith(
        "file is not valid UTF-8 (invalid continuation byte at byte 46)"
    )


def test_a_declaration_after_code_on_line_1_is_ignored(tmp_path: Path) -> None:
    data = "x = 1\n# coding: latin-1\ny = 'é'\n".encode("latin-1")
    assert compiles(data) is not None
    assert run_parse({"path": write(tmp_path, data)})["error"]["kind"] == "encoding"


def test_line_1_need_not_be_utf8_when_line_2_declares_the_encoding(tmp_path: Path) -> None:
    # compile() accepts this; tokenize.detect_encoding refuses it. The interpreter rules.
    data = b"#!/usr/bin/python \xe9\n# coding: latin-1\nx = 1\n"
    assert compiles(data) is None
    assert run_parse({"path": write(tmp_path, data)})["ok"] is True


def test_an_unknown_encoding_is_refused_with_cpythons_reason(tmp_path: Path) -> None:
    data = b"# coding: uft-8\nx = 1\n"
    assert compiles(data) == "unknown encoding: uft-8"
    with pytest.raises(SyntaxError, match="unknown encoding: uft-8"):
        tokenize.detect_encoding(io.BytesIO(data).readline)
    path = write(tmp_path, data)
    result = run_parse({"path": path})
    assert result["ok"] is False
    assert result["error"] == {
        "kind": "encoding",
        "message": f"{path}:1:11: unknown encoding: uft-8",
        "line": 1,
        "column": 11,
    }
    lint = run_lint({"path": path})
    assert (lint["ok"], lint["problems"], lint["error"]) == (False, [], result["error"])


@pytest.mark.parametrize(
    ("data", "reason", "line"),
    [
        (BOM + b"# coding: latin-1\nx = 1\n", "encoding problem: iso-8859-1 with BOM", 1),
        (BOM + b"#!/bin/python\n# coding: cp1252\nx = 1\n", "encoding problem: cp1252 with BOM", 2),
        (BOM + b"# coding: utf8\nx = 1\n", "encoding problem: utf8 with BOM", 1),
        (BOM + b"# coding: uft-8\nx = 1\n", "encoding problem: uft-8 with BOM", 1),
    ],
)
def test_a_bom_with_a_conflicting_declaration_is_refused(
    tmp_path: Path, data: bytes, reason: str, line: int
) -> None:
    assert compiles(data) == reason
    error = run_parse({"path": write(tmp_path, data)})["error"]
    assert (error["kind"], error["line"]) == ("encoding", line)
    assert error["message"].endswith(f": {reason}")


@pytest.mark.parametrize("spelling", ["utf-8", "UTF-8", "utf_8", "utf-8-unix"])
def test_a_bom_with_a_utf8_declaration_is_fine(tmp_path: Path, spelling: str) -> None:
    data = BOM + f"# coding: {spelling}\nx = 'é'\n".encode()
    assert compiles(data) is None
    assert run_parse({"path": write(tmp_path, data)})["ok"] is True


def test_text_the_declared_codec_cannot_decode_is_an_encoding_error(tmp_path: Path) -> None:
    data = b"# coding: ascii\nx = '\xe9'\n"
    assert compiles(data) is not None
    error = run_parse({"path": write(tmp_path, data)})["error"]
    assert (error["kind"], error["line"], error["column"]) == ("encoding", 2, 6)
    assert error["message"].endswith(
        "file is not valid ascii as declared on line 1 (ordinal not in range(128) at byte 21)"
    )


def test_a_codec_that_is_not_a_text_encoding_is_refused(tmp_path: Path) -> None:
    data = b"# coding: rot13\nk = 1\n"
    reason = compiles(data)
    assert reason is not None and "not a text encoding" in reason
    error = run_parse({"path": write(tmp_path, data)})["error"]
    assert error["kind"] == "encoding"
    assert error["message"].endswith(f": {reason}")
