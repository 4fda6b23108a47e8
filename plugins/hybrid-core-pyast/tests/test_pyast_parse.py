"""The parse function and the python.parse engine: counts, lines, files and failures."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from hybrid_core_pyast import parse, run_parse

SAMPLE = '''\
"""A module."""
import os


class Shape:
    sides = 0

    def area(self):
        return 0

    async def fetch(self):
        def callback():
            pass
        return callback


def main():
    if os.environ:
        print("set")
'''


def test_parse_returns_the_module_for_valid_source() -> None:
    tree = parse("x = 1\n", "m.py")
    assert isinstance(tree, ast.Module)
    assert isinstance(tree.body[0], ast.Assign)


def test_parse_returns_a_syntax_record_with_position_and_path() -> None:
    record = parse("x = 1\ny = $\n", "bad.py")
    assert not isinstance(record, ast.Module)
    assert record["kind"] == "syntax"
    assert (record["line"], record["column"]) == (2, 5)
    assert record["message"].startswith("bad.py:2:5: ")


def test_parse_reports_a_null_byte_where_it_is() -> None:
    record = parse("x = 1\ny = 2\0\n", "nul.py")
    assert record == {
        "kind": "syntax",
        "message": "nul.py:2:6: source contains a null byte",
        "line": 2,
        "column": 6,
    }


def test_parse_reports_an_unencodable_character_as_an_encoding_error() -> None:
    record = parse("x = 1\ns = '\ud800'\n", "surrogate.py")
    assert not isinstance(record, ast.Module)
    assert (record["kind"], record["line"], record["column"]) == ("encoding", 2, 6)


@pytest.mark.parametrize(
    "source",
    [
        "x = " + "-" * 200_000 + "1",
        pytest.param(
            "1" + "+1" * 100_000,
            marks=pytest.mark.skipif(
                sys.version_info < (3, 11),
                reason="Python 3.10's parser accepts a left-nested chain this long",
            ),
        ),
    ],
)
def test_parse_reports_source_too_deep_for_the_parser(source: str) -> None:
    record = parse(source, "deep.py")
    assert not isinstance(record, ast.Module)
    assert record["kind"] == "syntax"
    assert "nested too deeply" in record["message"]


def test_parse_rejects_bytes_with_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="source must be a str"):
        parse(b"x = 1", "m.py")  # type: ignore[arg-type]


def test_parse_engine_counts_functions_classes_and_statements() -> None:
    result = run_parse({"source": SAMPLE, "path": "sample.py"})
    # Functions: area, fetch, callback, main. Statements: docstring, import, class, sides,
    # def area, return, async def fetch, def callback, pass, return, def main, if, print.
    assert result == {
        "path": "sample.py",
        "ok": True,
        "lines": 19,
        "functions": 4,
        "classes": 1,
        "statements": 13,
    }


@pytest.mark.parametrize(
    ("source", "lines"),
    [("", 0), ("x = 1", 1), ("x = 1\n", 1), ("\n\n", 2), ("a = 1\r\nb = 2\rc = 3\n", 3)],
)
def test_lines_count_every_kind_of_line_ending(source: str, lines: int) -> None:
    assert run_parse({"source": source})["lines"] == lines


def test_source_without_path_is_reported_as_unknown() -> None:
    assert run_parse({"source": "x = 1"})["path"] == "<unknown>"


def test_a_syntax_error_is_a_result_not_an_exception() -> None:
    result = run_parse({"source": "def f(:\n    pass\n", "path": "bad.py"})
    assert result["ok"] is False
    assert result["error"]["kind"] == "syntax"
    assert result["error"]["line"] == 1
    assert result["error"]["message"].startswith("bad.py:1:")
    assert (result["lines"], result["functions"], result["classes"]) == (2, None, None)
    assert result["statements"] is None


def test_path_alone_reads_the_file(tmp_path: Path) -> None:
    file = tmp_path / "sample.py"
    file.write_text(SAMPLE, encoding="utf-8")
    result = run_parse({"path": str(file)})
    assert result["ok"] is True
    assert (result["path"], result["functions"], result["lines"]) == (str(file), 4, 19)


def test_path_may_be_a_path_object_and_is_reported_as_str(tmp_path: Path) -> None:
    file = tmp_path / "m.py"
    file.write_text("x = 1\n", encoding="utf-8")
    assert run_parse({"path": file})["path"] == str(file)


def test_a_file_that_is_not_utf8_is_an_encoding_result(tmp_path: Path) -> None:
    file = tmp_path / "latin.py"
    file.write_bytes(b"x = 1\ny = '\xff'\n")
    result = run_parse({"path": str(file)})
    assert result["ok"] is False
    error = result["error"]
    assert (error["kind"], error["line"], error["column"]) == ("encoding", 2, 6)
    assert error["message"] == (
        f"{file}:2:6: file is not valid UTF-8 (invalid start byte at byte 11)"
    )
    assert result["lines"] == 2


def test_a_byte_order_mark_is_accepted_and_not_counted_in_columns(tmp_path: Path) -> None:
    good = tmp_path / "bom.py"
    good.write_bytes(b"\xef\xbb\xbfx = 1\n")
    assert run_parse({"path": str(good)})["ok"] is True
    bad = tmp_path / "bom_bad.py"
    bad.write_bytes(b"\xef\xbb\xbfx = \xff\n")
    error = run_parse({"path": str(bad)})["error"]
    assert (error["line"], error["column"]) == (1, 5)
    assert "at byte 7)" in error["message"]


def test_a_file_with_a_syntax_error_names_the_file(tmp_path: Path) -> None:
    file = tmp_path / "broken.py"
    file.write_text("x = 1\nclass:\n", encoding="utf-8")
    result = run_parse({"path": str(file)})
    assert result["ok"] is False
    assert result["error"]["message"].startswith(f"{file}:2:")


def test_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_parse({"path": str(tmp_path / "absent.py")})


def test_a_given_source_is_not_read_from_path(tmp_path: Path) -> None:
    result = run_parse({"source": "x = 1\n", "path": str(tmp_path / "absent.py")})
    assert result["ok"] is True


def test_a_tree_is_used_as_is_and_counts_match_source() -> None:
    tree = parse(SAMPLE, "sample.py")
    assert isinstance(tree, ast.Module)
    from_tree = run_parse({"tree": tree, "path": "sample.py"})
    from_source = run_parse({"source": SAMPLE, "path": "sample.py"})
    assert from_tree == from_source


def test_a_tree_without_source_counts_lines_to_its_last_statement() -> None:
    tree = parse("x = 1\n\ny = (\n    2)\n\n# trailing comment\n", "m.py")
    assert isinstance(tree, ast.Module)
    assert run_parse({"tree": tree})["lines"] == 4
    assert run_parse({"tree": ast.parse("")})["lines"] == 0
