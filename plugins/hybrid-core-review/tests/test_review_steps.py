"""The review steps on their own: discovery, the streaming report, import cycles."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hybrid_core_review import collect, discover, finish, module_name, start
from hybrid_core_review._report import (
    _complexity_first,
    _complexity_key,
    _lint_first,
    _lint_key,
    _Smallest,
)

from hybrid_core import ExecutionContext, PayloadError


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_discover_applies_globs_and_names_modules(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "",
            "pkg/tests/t.py": "",
            "build/x.py": "",
            ".hidden/y.py": "",
            "notes.txt": "",
            "my-script.py": "",
        },
    )
    found = discover(str(tmp_path), exclude=["build", ".*", "tests"])["files"]
    assert [(f["relpath"], f["module"]) for f in found] == [
        ("my-script.py", None),
        ("pkg/__init__.py", "pkg"),
        ("pkg/a.py", "pkg.a"),
    ]
    only = discover(str(tmp_path), include=["pkg/*.py"], exclude=[])["files"]
    assert [f["relpath"] for f in only] == ["pkg/__init__.py", "pkg/a.py", "pkg/tests/t.py"]
    # A file inside a package is named as the package's module, as Python imports it.
    assert discover(str(tmp_path / "pkg" / "a.py"))["files"][0]["module"] == "pkg.a"
    assert discover(str(tmp_path / "my-script.py"))["files"][0]["module"] is None


def test_discover_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(PayloadError, match=r"input 'path' .* does not exist"):
        discover(str(tmp_path / "nope"))
    with pytest.raises(PayloadError, match="include must be a glob"):
        discover(str(tmp_path), include=3)  # type: ignore[arg-type]


def test_module_names() -> None:
    assert module_name("a/b/c.py") == "a.b.c"
    assert module_name("a/__init__.py") == "a"
    assert module_name("3rd/x.py") is None


def served(provider: str, result: dict) -> dict:
    return {"provider": provider, "result": result}


def test_report_streams_findings_and_finds_cycles(tmp_path: Path) -> None:
    ctx = ExecutionContext.root()
    out = tmp_path / "out"
    start("src", str(out), ctx)
    files = [
        ({"path": "/a.py", "relpath": "a.py", "module": "a"}, 7, [{"module": "b", "line": 3}]),
        ({"path": "/b.py", "relpath": "b.py", "module": "b"}, 2, [{"module": "a.x", "line": 5}]),
        (
            {"path": "/c.py", "relpath": "c.py", "module": "c"},
            30,
            [{"module": "a", "type_checking": True}],
        ),
    ]
    summaries = []
    for file, cx, imports in files:
        summaries.append(
            collect(
                file,
                ctx,
                complexity=served(
                    "radon.complexity",
                    {
                        "ok": True,
                        "functions": [
                            {
                                "qualname": f"f_{file['module']}",
                                "lineno": 1,
                                "complexity": cx,
                                "rank": "A",
                            }
                        ],
                    },
                ),
                lint=served(
                    "pyflakes.lint",
                    {
                        "ok": True,
                        "problems": [
                            {
                                "line": 1,
                                "column": 1,
                                "code": "UnusedImport",
                                "message": "'os' unused",
                            }
                        ],
                    },
                ),
                symbols=served(
                    "pyast.symbols",
                    {"ok": True, "symbols": [{"kind": "function", "is_public": True}]},
                ),
                imports=served("pyast.imports", {"ok": True, "imports": imports}),
            )
        )
    broken = {"path": "/d.py", "relpath": "d.py", "module": "d"}
    error = {"kind": "syntax", "message": "d.py:1:1: invalid syntax", "line": 1, "column": 1}
    collect(broken, ctx, complexity=served("pyast.complexity", {"ok": False, "error": error}))
    report = finish(summaries, ctx)
    data = json.loads(Path(report["json"]).read_text())
    assert data["totals"]["files"] == 4 and data["totals"]["unparsable"] == 1
    # c -> a is type-checking only; b's import of a.x (not in the tree) runs a
    assert data["import_cycles"] == [{"size": 2, "modules": ["a", "b"], "cycles": [[
        {"from": "a", "to": "b", "path": "a.py", "line": 3},
        {"from": "b", "to": "a", "path": "b.py", "line": 5},
    ]]}]  # fmt: skip
    assert [f["qualname"] for f in data["most_complex"]] == ["f_c", "f_a", "f_b"]
    assert data["engines"]["python.complexity"] == {"radon.complexity": 3, "pyast.complexity": 1}
    assert [f["path"] for f in data["files"]] == ["a.py", "b.py", "c.py", "d.py"]
    assert data["lint_codes"] == {"UnusedImport": 3}
    markdown = Path(report["markdown"]).read_text()
    assert "    - a -> b (a.py:3)\n    - b -> a (b.py:5)\n" in markdown
    assert "- d.py:1:1: invalid syntax\n" in markdown
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md"]


def test_collect_without_start_says_what_is_missing() -> None:
    with pytest.raises(RuntimeError, match="must run the 'start' step"):
        collect({"path": "x", "relpath": "x", "module": "x"}, ExecutionContext.root())


def test_the_bounded_lists_keep_the_smallest_whatever_the_order_offered() -> None:
    functions = [
        {"qualname": f"f{i}", "lineno": i, "complexity": i % 7, "rank": "A"} for i in range(60)
    ]
    merged = [{"path": f"m{f['lineno'] % 3}.py", **f} for f in functions]
    # With the first element's early test and without it, the same entries are kept.
    for kept in (_Smallest(5, _complexity_key), _Smallest(5, _complexity_key, _complexity_first)):
        for f in random.Random(3).sample(functions, len(functions)):
            kept.offer(f, f"m{f['lineno'] % 3}.py")
        assert kept.sorted() == sorted(merged, key=_complexity_key)[:5]
        assert list(kept.sorted()[0]) == ["path", "qualname", "lineno", "complexity", "rank"]
        assert len(kept) == 5


def test_a_first_element_function_agrees_with_its_key() -> None:
    functions = [{"complexity": c} for c in (None, 0, 1, 7, 41)]
    for f in functions:
        assert _complexity_first(f) == _complexity_key(f, "p.py")[0]
    problems = [{"severity": s} for s in (None, "error", "warning", "style", 3)]
    problems.append({})
    for p in problems:
        assert _lint_first(p) == _lint_key(p, "p.py")[0]
