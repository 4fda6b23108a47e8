"""Import cycles among a tree's own modules, each shown as a real path of import statements.

Only imports that run when a module is imported can form a cycle that bites, so only
those make edges: an import record counts when its ``import_time`` is true (records
without the key count unless ``type_checking``, ``deferred`` or ``main_guard`` is set).
Targets are resolved against the modules of the tree once all are known, following
what Python executes:

- ``import a.b.c`` runs ``a``, ``a.b`` and ``a.b.c`` unless they are already imported,
  so it is an edge to each of them that is a module of the tree, except to the importer
  itself and its own packages: Python imports a module's packages before the module,
  so for it they are always there already. Such an import reads no attribute, so a
  partly initialised package does it no harm.
- ``from pkg import sub`` (and ``from . import sub``) is an edge to ``pkg.sub`` when that
  is a module of the tree. It is an edge to ``pkg`` when a name is not such a module (or
  is ``*``): the name is read from ``pkg``, which fails while ``pkg`` is only partly
  initialised, so the edge counts even when ``pkg`` is the importer's own package. The
  packages above ``pkg`` (and ``pkg`` itself) are edges as for ``import``.
- A module never has an edge to itself.

Cycles are the strongly connected components of that graph with two modules or more,
found with an iterative Tarjan (no recursion limit). Memory is O(edges).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypedDict

__all__ = [
    "REPRESENTATIVE_CYCLES",
    "SMALL_COMPONENT",
    "ImportCycle",
    "ImportEdge",
    "ImportGraph",
    "UnresolvedImport",
    "cycle_lines",
]

# A component of up to this many modules is shown with its one shortest cycle; a larger
# one with up to REPRESENTATIVE_CYCLES short cycles, each through a module the earlier
# ones miss, so a reader sees where a tangle reaches without a list of every cycle.
SMALL_COMPONENT = 8
REPRESENTATIVE_CYCLES = 3

ImportEdge = TypedDict("ImportEdge", {"from": str, "to": str, "path": str, "line": int})
ImportEdge.__doc__ = """One import statement that makes ``from`` load ``to``: where it is."""


class ImportCycle(TypedDict):
    """One strongly connected component of the import graph."""

    size: int
    modules: list[str]
    cycles: list[list[ImportEdge]]


class UnresolvedImport(TypedDict):
    """An import-time relative import that could not be resolved to an absolute module."""

    path: str
    line: int
    module: str
    target: str
    message: str


class _Import:
    """One import record of one module, kept until every module of the tree is known."""

    __slots__ = ("importer", "line", "names", "path", "target")

    def __init__(
        self, importer: str, path: str, target: str, line: int, names: list[tuple[str, int]]
    ) -> None:
        self.importer, self.path, self.target, self.line = importer, path, target, line
        # (name, line) for "from target import name"; empty for "import target".
        self.names = names


class ImportGraph:
    """The import-time imports of a tree's modules; :meth:`cycles` finds the cycles.

    Call :meth:`add` once per file (in any order), then :meth:`cycles` and
    :meth:`warnings`; both may be called again after more files are added.
    """

    def __init__(self) -> None:
        self._modules: set[str] = set()
        self._imports: list[_Import] = []
        self._unresolved: list[UnresolvedImport] = []

    def __repr__(self) -> str:
        return f"<ImportGraph {len(self._modules)} modules, {len(self._imports)} imports>"

    def add(self, module: str, path: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Record the import-time imports of ``module``, defined by the file at ``path``.

        ``records`` are ``python.imports`` records (``module``, ``names``, ``lines``,
        ``line``, ``level`` and the flags); items that are not mappings or name no
        module are ignored. ``path`` is what edges and warnings report, e.g. the path
        relative to the tree's root. Adding a module twice merges its imports.
        """
        if not isinstance(module, str) or not all(p.isidentifier() for p in module.split(".")):
            raise ValueError(
                f"module must be a dotted module name such as 'pkg.mod', not {module!r}"
            )
        self._modules.add(module)
        for record in records:
            if isinstance(record, Mapping) and _runs_on_import(record):
                self._add_record(module, str(path), record)

    def _add_record(self, module: str, path: str, record: Mapping[str, Any]) -> None:
        target, line = record.get("module"), _line(record.get("line"))
        if not isinstance(target, str) or not target:
            return
        names = record.get("names") or []
        lines = record.get("lines") or []
        pairs = [
            (str(name), _line(lines[i] if i < len(lines) else line)) for i, name in enumerate(names)
        ]
        if target.startswith("."):
            self._unresolved.append(_unresolved(module, path, line, target, pairs))
            return
        self._imports.append(_Import(module, path, target, line, pairs))

    def warnings(self) -> list[UnresolvedImport]:
        """The import-time relative imports that could not be resolved, by path and line.

        Their edges are missing from :meth:`cycles`; the usual cause is a tree reviewed
        from below its top-level package, or a relative import in a top-level module.
        """
        return sorted(self._unresolved, key=lambda w: (w["path"], w["line"], w["target"]))

    def edges(self) -> list[ImportEdge]:
        """Every edge between the tree's modules, sorted by ``from`` then ``to``.

        Where several statements make the same edge, the one with the smallest
        ``(path, line)`` is given.
        """
        return [_edge(a, b, where) for (a, b), where in sorted(self._edge_map().items())]

    def cycles(self) -> list[ImportCycle]:
        """Every import cycle: the strongly connected components of two or more modules.

        Largest component first, then by first module name. Each has ``size``, its
        ``modules`` sorted, and ``cycles``: closed paths of edges (each edge's ``to`` is
        the next one's ``from``, the last one's ``to`` the first one's ``from``). The
        first is a shortest cycle of the component, starting at the cycle's
        alphabetically first module; a component of more than :data:`SMALL_COMPONENT`
        modules also has up to :data:`REPRESENTATIVE_CYCLES` in all, each a shortest
        cycle through the first module the ones before it miss, shortest first.
        """
        where = self._edge_map()
        graph: dict[str, list[str]] = {m: [] for m in self._modules}
        for a, b in sorted(where):
            graph[a].append(b)
        found: list[ImportCycle] = []
        for component in strongly_connected(graph):
            if len(component) < 2:
                continue
            members = set(component)
            inner = {m: [n for n in graph[m] if n in members] for m in component}
            paths = _sample_cycles(component, inner)
            found.append(
                {
                    "size": len(component),
                    "modules": component,
                    "cycles": [_closed(p, where) for p in paths],
                }
            )
        return sorted(found, key=lambda c: (-c["size"], c["modules"][0]))

    def _edge_map(self) -> dict[tuple[str, str], tuple[str, int]]:
        """(from, to) -> the smallest (path, line) of a statement that makes the edge."""
        where: dict[tuple[str, str], tuple[str, int]] = {}
        for item in self._imports:
            for target, line in _targets(item, self._modules):
                key, value = (item.importer, target), (item.path, line)
                if key not in where or value < where[key]:
                    where[key] = value
        return where


def _runs_on_import(record: Mapping[str, Any]) -> bool:
    flag = record.get("import_time")
    if isinstance(flag, bool):
        return flag
    return not any(record.get(k) for k in ("type_checking", "deferred", "main_guard"))


def _line(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _unresolved(
    module: str, path: str, line: int, target: str, names: list[tuple[str, int]]
) -> UnresolvedImport:
    dots = len(target) - len(target.lstrip("."))
    written = (
        f"from {target[:dots]} import {', '.join(n for n, _ in names)}"
        if names and dots == len(target)
        else f"from {target} import ..."
    )
    return {
        "path": path,
        "line": line,
        "module": module,
        "target": target,
        "message": (
            f"{written!r} in module {module!r} climbs above its top-level package, so "
            "import cycles through it are not known; review the tree from the folder "
            "that holds the top-level package"
        ),
    }


def _within(importer: str) -> set[str]:
    """The importer and its packages: always imported before the importer's body runs."""
    parts = importer.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def _targets(item: _Import, known: set[str]) -> Iterator[tuple[str, int]]:
    """The tree's modules that ``item`` makes its importer load or read, with lines."""
    present = _within(item.importer)
    parts = item.target.split(".")
    # The packages above the target, and the target of a plain import: run if not yet.
    executed = [".".join(parts[:i]) for i in range(1, len(parts) + (0 if item.names else 1))]
    for module in executed:
        if module in known and module not in present:
            yield module, item.line
    if not item.names:
        return
    read_line: int | None = None
    for name, line in item.names:
        sub = f"{item.target}.{name}"
        if name != "*" and sub in known:
            # A package of the importer is in sys.modules already, and Python falls back
            # to it there when the package has no such attribute yet.
            if sub not in present:
                yield sub, line
        elif read_line is None:
            read_line = line
    if item.target in known and item.target != item.importer:
        if read_line is not None:
            yield item.target, read_line
        elif item.target not in present:
            yield item.target, item.line


def _edge(a: str, b: str, where: tuple[str, int]) -> ImportEdge:
    return {"from": a, "to": b, "path": where[0], "line": where[1]}


def _closed(path: list[str], where: Mapping[tuple[str, str], tuple[str, int]]) -> list[ImportEdge]:
    pairs = zip(path, [*path[1:], path[0]], strict=True)
    return [_edge(a, b, where[a, b]) for a, b in pairs]


def strongly_connected(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of ``graph``, each sorted, all sorted.

    Iterative, so a long chain of imports cannot exhaust the recursion limit. Every
    successor must be a key of ``graph``.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(graph[succ])))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    result.append(sorted(_pop_component(stack, on_stack, node)))
    return sorted(result)


def _pop_component(stack: list[str], on_stack: set[str], root: str) -> Iterator[str]:
    while True:
        member = stack.pop()
        on_stack.discard(member)
        yield member
        if member == root:
            return


def _sample_cycles(component: list[str], graph: Mapping[str, list[str]]) -> list[list[str]]:
    """A shortest cycle of ``component``, then (when large) cycles reaching other modules."""
    best: list[str] | None = None
    for start in component:
        found = _shortest_cycle_through(start, graph, None if best is None else len(best))
        if found is not None:
            best = found
            if len(best) == 2:  # no self edges, so nothing is shorter
                break
    if best is None:  # unreachable for a component of two or more modules
        raise AssertionError(f"no cycle in the strongly connected modules {component!r}")
    if len(component) <= SMALL_COMPONENT:
        return [best]
    covered = set(best)
    more: list[list[str]] = []
    for start in component:
        if len(more) + 1 >= REPRESENTATIVE_CYCLES:
            break
        if start not in covered:
            cycle = _shortest_cycle_through(start, graph, None)
            if cycle is not None:
                more.append(cycle)
                covered.update(cycle)
    return [best, *sorted(more, key=lambda c: (len(c), c))]


def _shortest_cycle_through(
    start: str, graph: Mapping[str, list[str]], shorter_than: int | None
) -> list[str] | None:
    """The modules of a shortest cycle through ``start`` (``start`` first), by BFS.

    With ``shorter_than``, only a cycle of fewer edges is looked for, so the search
    stops early once a short cycle is known.
    """
    parent: dict[str, str | None] = {start: None}
    level, depth = [start], 0
    while level and (shorter_than is None or depth + 1 < shorter_than):
        following: list[str] = []
        for node in level:
            for succ in graph[node]:
                if succ == start:
                    return _path_to(node, parent)
                if succ not in parent:
                    parent[succ] = node
                    following.append(succ)
        level, depth = following, depth + 1
    return None


def _path_to(node: str, parent: Mapping[str, str | None]) -> list[str]:
    path: list[str] = []
    step: str | None = node
    while step is not None:
        path.append(step)
        step = parent[step]
    return path[::-1]


def cycle_lines(cycle: Iterable[ImportEdge], text: Callable[[object], str] = str) -> list[str]:
    """One line per edge of ``cycle``: ``a -> b (pkg/a.py:3)``.

    ``text`` renders each value taken from the tree, e.g. an escape for Markdown.
    """
    return [
        f"{text(e['from'])} -> {text(e['to'])} ({text(e['path'])}:{text(e['line'])})" for e in cycle
    ]
