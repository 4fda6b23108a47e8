"""Import cycles: import-time edges only, real paths, cross-checked with a second reckoning.

Fixture trees go through discovery, the real ``python.imports`` analysis and
:class:`ImportGraph`. Each fixture's cycles are also computed here from ``ast`` alone,
with components found by reachability instead of Tarjan, and the two must agree.
"""

from __future__ import annotations

import ast
import random
import sys
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hybrid_core_pyast import run_imports
from hybrid_core_review import ImportEdge, ImportGraph, cycle_lines, discover
from hybrid_core_review._cycles import REPRESENTATIVE_CYCLES, SMALL_COMPONENT
from hypothesis import given, settings
from hypothesis import strategies as st


def tree(root: Path, files: Mapping[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def review(root: Path) -> ImportGraph:
    """The graph the review builds: discovery, then pyast's imports of every module."""
    graph = ImportGraph()
    for file in discover(str(root))["files"]:
        if file["module"] is not None:
            result = run_imports({"path": file["path"], "module": file["module"]})
            assert result["ok"], result
            graph.add(file["module"], file["relpath"], result["imports"])
    return graph


# --- The second reckoning: straight from ast, components by reachability. ---


def reference_modules(root: Path) -> dict[str, Path]:
    prefix: list[str] = []
    folder = root
    while (folder / "__init__.py").is_file():
        prefix.insert(0, folder.name)
        folder = folder.parent
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [*prefix, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def runs_on_import(body: list[ast.stmt]) -> Iterable[ast.Import | ast.ImportFrom]:
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            test = ast.unparse(node.test)
            guarded = test.endswith("TYPE_CHECKING") or test == "__name__ == '__main__'"
            if not guarded:
                yield from runs_on_import(node.body)
            yield from runs_on_import(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, *(h.body for h in node.handlers), node.orelse):
                yield from runs_on_import(block)
            yield from runs_on_import(node.finalbody)
        elif isinstance(node, (ast.ClassDef, ast.With)):
            yield from runs_on_import(node.body)


def reference_graph(root: Path) -> dict[str, set[str]]:
    modules = reference_modules(root)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        parts = module.split(".")
        present = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        for node in runs_on_import(ast.parse(path.read_text()).body):
            loaded: set[str] = set()
            if isinstance(node, ast.Import):
                for alias in node.names:
                    names = alias.name.split(".")
                    loaded |= {".".join(names[:i]) for i in range(1, len(names) + 1)}
                graph[module] |= (loaded & modules.keys()) - present
                continue
            base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*base_parts, node.module] if node.module else base_parts)
            if node.level == 0:
                base = node.module or ""
            names = base.split(".")
            loaded = {".".join(names[:i]) for i in range(1, len(names) + 1)}
            graph[module] |= (loaded & modules.keys()) - present
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:
                    graph[module] |= {sub} - present
                elif base in modules and base != module:
                    graph[module].add(base)
    return graph


def reachable(graph: Mapping[str, Iterable[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = deque(graph[start])
    while todo:
        node = todo.popleft()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return seen


def reference_components(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    reach = {node: reachable(graph, node) for node in graph}
    groups = {tuple(sorted(u for u in graph if u in reach[v] and v in reach[u])) for v in graph}
    return sorted(list(g) for g in groups if len(g) > 1)


def distances(graph: Mapping[str, Iterable[str]], start: str) -> dict[str, int]:
    dist = {start: 0}
    todo = deque([start])
    while todo:
        node = todo.popleft()
        for succ in graph[node]:
            if succ not in dist:
                dist[succ] = dist[node] + 1
                todo.append(succ)
    return dist


def shortest_through(graph: Mapping[str, Iterable[str]], node: str) -> int:
    """Edges of a shortest cycle through ``node`` (the graph has no self edges)."""
    dist = distances(graph, node)
    return min(dist[u] + 1 for u in graph if node in graph[u] and u in dist)


def check_against_reference(graph: ImportGraph, reference: Mapping[str, set[str]]) -> None:
    """Same components; every cycle a closed walk over real edges; the first shortest."""
    found = graph.cycles()
    assert sorted(c["modules"] for c in found) == reference_components(reference)
    assert [(-c["size"], c["modules"][0]) for c in found] == sorted(
        (-c["size"], c["modules"][0]) for c in found
    )
    for component in found:
        assert component["size"] == len(component["modules"])
        members = set(component["modules"])
        inner = {m: {n for n in reference[m] if n in members} for m in members}
        for cycle in component["cycles"]:
            assert_closed_walk(cycle, reference)
        girth = min(shortest_through(inner, m) for m in members)
        assert len(component["cycles"][0]) == girth
        assert component["cycles"][0][0]["from"] == min(
            m for m in members if shortest_through(inner, m) == girth
        )


def assert_closed_walk(cycle: list[ImportEdge], edges: Mapping[str, set[str]]) -> None:
    assert cycle, "a cycle has edges"
    for edge, following in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
        assert edge["to"] in edges[edge["from"]], edge
        assert edge["to"] == following["from"]
    assert len({e["from"] for e in cycle}) == len(cycle), "a cycle visits a module once"


def modules_of(graph: ImportGraph) -> list[list[str]]:
    return [c["modules"] for c in graph.cycles()]


# --- Fixture trees. ---


def test_imports_inside_functions_make_no_cycle(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "a.py": "import b\n",
            "b.py": "def load():\n    import a\n\nasync def later():\n    from a import x\n",
        },
    )
    graph = review(root)
    assert modules_of(graph) == []
    assert [(e["from"], e["to"]) for e in graph.edges()] == [("a", "b")]
    check_against_reference(graph, reference_graph(root))


def test_from_a_package_import_a_submodule_is_an_edge_to_the_submodule(tmp_path: Path) -> None:
    # As in requests: the package imports its submodules, which import each other.
    root = tree(
        tmp_path,
        {
            "requests/__init__.py": "from . import certs\nfrom .api import get\n",
            "requests/certs.py": "import os\n",
            "requests/api.py": "from . import sessions\n",
            "requests/sessions.py": "from .certs import where\nfrom requests import certs\n",
        },
    )
    graph = review(root)
    assert [(e["from"], e["to"], e["line"]) for e in graph.edges()] == [
        ("requests", "requests.api", 2),
        ("requests", "requests.certs", 1),
        ("requests.api", "requests.sessions", 1),
        ("requests.sessions", "requests.certs", 1),
    ]
    assert modules_of(graph) == []
    check_against_reference(graph, reference_graph(root))


def test_a_package_importing_its_own_submodules_is_no_self_cycle(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "pkg/__init__.py": (
                "from . import version\n"
                "try:\n    from ._speedups import g\nexcept ImportError:\n"
                "    from ._native import g\n"
                "from pkg import sub\nimport pkg.sub\nfrom . import name_defined_here\n"
            ),
            "pkg/version.py": "",
            "pkg/_speedups.py": "",
            "pkg/_native.py": "",
            "pkg/sub.py": "import pkg\nimport pkg.version\nfrom pkg import sub\n",
        },
    )
    graph = review(root)
    assert modules_of(graph) == []
    assert all(e["from"] != e["to"] for e in graph.edges())
    assert ("pkg", "pkg._native") in {(e["from"], e["to"]) for e in graph.edges()}
    check_against_reference(graph, reference_graph(root))


def test_a_submodule_reading_a_name_from_its_package_is_a_real_cycle(tmp_path: Path) -> None:
    # pkg runs pkg._speedups (in a try), which reads a name from the half-run pkg.
    root = tree(
        tmp_path,
        {
            "pkg/__init__.py": (
                "HELPER = 1\n"
                "try:\n    from ._speedups import g\nexcept ImportError:\n    g = None\n"
            ),
            "pkg/_speedups.py": "from . import HELPER\n",
        },
    )
    graph = review(root)
    [component] = graph.cycles()
    assert component["cycles"] == [
        [
            {"from": "pkg", "to": "pkg._speedups", "path": "pkg/__init__.py", "line": 3},
            {"from": "pkg._speedups", "to": "pkg", "path": "pkg/_speedups.py", "line": 1},
        ]
    ]
    check_against_reference(graph, reference_graph(root))


def test_type_checking_and_main_guarded_imports_make_no_cycle(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "a.py": "import b\n",
            "b.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    import a\n"
                'if __name__ == "__main__":\n    from a import main\n'
            ),
            "c.py": "import d\n",
            "d.py": 'if __name__ == "__main__":\n    pass\nelse:\n    import c\n',
        },
    )
    graph = review(root)
    # The else of a main guard runs on import.
    assert modules_of(graph) == [["c", "d"]]
    check_against_reference(graph, reference_graph(root))


def test_a_class_body_runs_at_import_time_a_method_does_not(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "a.py": "import b\nimport c\n",
            "b.py": "class Model:\n    from a import registry\n",
            "c.py": "class Lazy:\n    def load(self):\n        import a\n",
        },
    )
    graph = review(root)
    assert modules_of(graph) == [["a", "b"]]
    check_against_reference(graph, reference_graph(root))


def test_a_three_module_cycle_follows_the_real_imports(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/a.py": '"""A."""\n\nfrom app import b\n\n\ndef f():\n    from app import c\n',
            "app/b.py": "import os\nfrom app.c import (\n    thing,\n    other,\n)\n",
            "app/c.py": "from .a import (\n    f,\n)\n",
        },
    )
    graph = review(root)
    [component] = graph.cycles()
    assert (component["size"], component["modules"]) == (3, ["app.a", "app.b", "app.c"])
    assert component["cycles"] == [
        [
            {"from": "app.a", "to": "app.b", "path": "app/a.py", "line": 3},
            {"from": "app.b", "to": "app.c", "path": "app/b.py", "line": 3},
            {"from": "app.c", "to": "app.a", "path": "app/c.py", "line": 2},
        ]
    ]
    assert cycle_lines(component["cycles"][0]) == [
        "app.a -> app.b (app/a.py:3)",
        "app.b -> app.c (app/b.py:3)",
        "app.c -> app.a (app/c.py:2)",
    ]
    check_against_reference(graph, reference_graph(root))


def test_importing_a_dotted_module_runs_its_packages(tmp_path: Path) -> None:
    # x runs lib/__init__ (which imports x) on its way to lib.sub.deep, even though
    # lib.sub.missing is not a module of the tree.
    root = tree(
        tmp_path,
        {
            "x.py": "import lib.sub.missing\n",
            "lib/__init__.py": "import x\n",
            "lib/sub/__init__.py": "",
            "y.py": "import os.path\n",
        },
    )
    graph = review(root)
    assert [(e["from"], e["to"]) for e in graph.edges()] == [
        ("lib", "x"),
        ("x", "lib"),
        ("x", "lib.sub"),
    ]
    assert modules_of(graph) == [["lib", "x"]]
    check_against_reference(graph, reference_graph(root))


def test_a_package_reviewed_from_its_own_folder_resolves_relative_imports(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {
            "click/pyproject.toml": "",
            "click/click/__init__.py": "from .core import Command\n",
            "click/click/core.py": "from .utils import echo\n",
            "click/click/utils.py": "from . import core\n\nECHO = 1\n",
        },
    )
    root = tmp_path / "click" / "click"
    found = discover(str(root))["files"]
    assert [(f["relpath"], f["module"]) for f in found] == [
        ("__init__.py", "click"),
        ("core.py", "click.core"),
        ("utils.py", "click.utils"),
    ]
    graph = review(root)
    assert modules_of(graph) == [["click.core", "click.utils"]]
    assert graph.warnings() == []
    check_against_reference(graph, reference_graph(root))


def test_a_relative_import_beyond_the_top_is_a_warning(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "loader.py": "import os\n\nfrom . import sibling\n",
            "pkg/__init__.py": "from .. import up\n",
            "pkg/mod.py": "def f():\n    from ... import deferred_is_no_cycle\n",
        },
    )
    graph = review(root)
    assert graph.cycles() == []
    warnings = graph.warnings()
    assert [(w["path"], w["line"], w["module"], w["target"]) for w in warnings] == [
        ("loader.py", 3, "loader", "."),
        ("pkg/__init__.py", 1, "pkg", ".."),
    ]
    assert "'from . import sibling'" in warnings[0]["message"]
    assert "top-level package" in warnings[0]["message"]


def test_a_module_importing_itself_is_not_a_cycle() -> None:
    graph = ImportGraph()
    graph.add("a", "a.py", [{"module": "a", "names": [], "line": 1, "level": 0}])
    graph.add("a", "a.py", [{"module": "a", "names": ["x"], "line": 2, "level": 0}])
    assert (graph.cycles(), graph.edges()) == ([], [])


def test_components_come_largest_first_then_by_first_module() -> None:
    graph = ImportGraph()
    for a, b in [("z1", "z2"), ("z2", "z1"), ("b1", "b2"), ("b2", "b3"), ("b3", "b1")]:
        graph.add(a, f"{a}.py", [{"module": b, "names": [], "line": 1, "level": 0}])
    for a, b in [("a1", "a2"), ("a2", "a1")]:
        graph.add(a, f"{a}.py", [{"module": b, "names": [], "line": 1, "level": 0}])
    assert modules_of(graph) == [["b1", "b2", "b3"], ["a1", "a2"], ["z1", "z2"]]


def test_records_without_import_time_fall_back_on_the_older_flags() -> None:
    graph = ImportGraph()
    graph.add("a", "a.py", [{"module": "b", "line": 1}])
    graph.add("b", "b.py", [{"module": "a", "line": 1, "deferred": True}])
    graph.add("b", "b.py", [{"module": "a", "line": 2, "type_checking": True}])
    graph.add("b", "b.py", [{"module": "a", "line": 3, "import_time": False}, "junk"])  # type: ignore[list-item]
    assert graph.cycles() == []
    graph.add("b", "b.py", [{"module": "a", "line": 9}])
    assert modules_of(graph) == [["a", "b"]]


def test_a_module_name_must_be_dotted() -> None:
    with pytest.raises(ValueError, match="dotted module name"):
        ImportGraph().add("my-script", "my-script.py", [])


def edges_graph(
    pairs: Iterable[tuple[int, int]], n: int
) -> tuple[ImportGraph, dict[str, set[str]]]:
    graph, reference = ImportGraph(), {f"m{i:02}": set[str]() for i in range(n)}
    records: dict[str, list[dict[str, Any]]] = {m: [] for m in reference}
    for line, (a, b) in enumerate(pairs, start=1):
        if a != b:
            records[f"m{a:02}"].append({"module": f"m{b:02}", "names": [], "line": line})
            reference[f"m{a:02}"].add(f"m{b:02}")
    for module, found in records.items():
        graph.add(module, f"{module}.py", found)
    return graph, reference


def test_a_large_component_shows_a_few_cycles_reaching_new_modules() -> None:
    # Three loops through m00, of 3, 4 and 5 modules: ten modules in all.
    loops = [[0, 1, 2], [0, 3, 4, 5], [0, 6, 7, 8, 9]]
    pairs = [(loop[k], loop[(k + 1) % len(loop)]) for loop in loops for k in range(len(loop))]
    graph, reference = edges_graph(pairs, 10)
    [component] = graph.cycles()
    assert component["size"] == 10 > SMALL_COMPONENT
    assert [[e["from"] for e in c] for c in component["cycles"]] == [
        ["m00", "m01", "m02"],
        ["m03", "m04", "m05", "m00"],
        ["m06", "m07", "m08", "m09", "m00"],
    ]
    check_against_reference(graph, reference)


def test_a_large_component_shows_fewer_cycles_once_every_module_is_on_one() -> None:
    n = 20
    ring = [(i, (i + 1) % n) for i in range(n)]
    graph, reference = edges_graph([*ring, (5, 3)], n)
    [component] = graph.cycles()
    assert [len(c) for c in component["cycles"]] == [3, n]
    assert component["cycles"][1][0]["from"] == "m00"
    check_against_reference(graph, reference)


def test_a_long_chain_of_imports_does_not_exhaust_the_recursion_limit() -> None:
    n = sys.getrecursionlimit() * 3
    chain = [(i, i + 1) for i in range(n - 1)]
    graph, _ = edges_graph([*chain, (n - 1, n - 3)], n)
    [component] = graph.cycles()
    assert component["modules"] == [f"m{i:02}" for i in range(n - 3, n)]
    assert len(component["cycles"][0]) == 3


# --- Random graphs. ---


@st.composite
def random_graphs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]]]:
    n = draw(st.integers(min_value=1, max_value=16))
    # From sparse (no cycle) to dense (one component of more than SMALL_COMPONENT).
    density = draw(st.sampled_from([0.05, 0.1, 0.2, 0.4]))
    rng = draw(st.randoms(use_true_random=False))
    pairs = [(a, b) for a in range(n) for b in range(n) if rng.random() < density]
    rng.shuffle(pairs)
    # Some imports twice, at later lines: an edge gives its first statement.
    return n, pairs + rng.sample(pairs, min(len(pairs), 3))


@settings(max_examples=300, deadline=None)
@given(random_graphs())
def test_random_graphs_agree_with_reachability(case: tuple[int, list[tuple[int, int]]]) -> None:
    n, pairs = case
    graph, reference = edges_graph(pairs, n)
    check_against_reference(graph, reference)
    first_line = {}
    for line, (a, b) in enumerate(pairs, start=1):
        first_line.setdefault((f"m{a:02}", f"m{b:02}"), line)
    for component in graph.cycles():
        members = set(component["modules"])
        inner = {m: {x for x in reference[m] if x in members} for m in members}
        cycles = component["cycles"]
        lengths = [len(c) for c in cycles]
        assert lengths == sorted(lengths)
        if len(members) <= SMALL_COMPONENT:
            assert len(cycles) == 1
        first = {e["from"] for e in cycles[0]}
        starts = [c[0]["from"] for c in cycles[1:]]
        assert len(cycles) <= REPRESENTATIVE_CYCLES
        assert len(set(starts)) == len(starts) and not first & set(starts)
        if starts:
            assert min(members - first) in starts, "the first module missed is reached"
        covered = set().union(*({e["from"] for e in c} for c in cycles))
        small = len(members) <= SMALL_COMPONENT
        assert small or len(cycles) == REPRESENTATIVE_CYCLES or covered == members
        for cycle in cycles:
            assert len(cycle) == shortest_through(inner, cycle[0]["from"])
            for edge in cycle:
                assert (edge["path"], edge["line"]) == (
                    f"{edge['from']}.py",
                    first_line[edge["from"], edge["to"]],
                )


def test_cycles_do_not_depend_on_the_order_files_are_added() -> None:
    rng = random.Random(7)
    pairs = [(rng.randrange(12), rng.randrange(12)) for _ in range(40)]
    graph, _ = edges_graph(pairs, 12)
    shuffled = ImportGraph()
    modules = [f"m{i:02}" for i in range(12)]
    rng.shuffle(modules)
    for module in modules:
        records = [
            {"module": f"m{b:02}", "names": [], "line": line}
            for line, (a, b) in enumerate(pairs, start=1)
            if f"m{a:02}" == module and a != b
        ]
        shuffled.add(module, f"{module}.py", reversed(records))
    assert shuffled.cycles() == graph.cycles()
