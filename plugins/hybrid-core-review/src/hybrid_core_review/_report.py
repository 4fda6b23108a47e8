"""The review report: findings streamed in file by file, written as JSON and Markdown.

Memory stays flat however large the tree: each file's findings go to a scratch JSON
lines file as they arrive; only totals, the most complex functions (a bounded heap), the
engines used and the import edges between the tree's modules are kept in memory. The
final JSON streams the scratch file back out.

The output folder is not trusted: the scratch file has no name in it, and each report is
written to a new temporary file there, then renamed over its target, so a symlink planted
as ``report.md`` is replaced, never followed, and an interrupted run never leaves half a
report. Everything that comes from the tree (names, messages, code) is escaped before it
goes into Markdown (:func:`markdown_text`), so the report renders as data.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from ._discover import display_path

__all__ = ["REPORT_FILES", "SCHEMA_VERSION", "ReportWriter", "markdown_text"]

SCHEMA_VERSION = 1
TOP = 25
MARKDOWN_LINT_LIMIT = 200
REPORT_FILES = ("report.json", "report.md")
# Earlier versions kept their scratch file under this name; an interrupted run left it.
_OLD_SCRATCH = ".files.jsonl"


class ReportWriter:
    """Collects a review file by file; :meth:`finish` writes ``report.json`` and ``report.md``."""

    def __init__(self, root: str, out: str | Path, run_id: str | None = None) -> None:
        self.root = display_path(str(root))
        self.run_id = run_id
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        # A report left by an earlier run must not pass for this run's: remove it now, so
        # an interrupted run leaves no report rather than a stale one. unlink removes a
        # symlink, never what it points to.
        for name in (*REPORT_FILES, _OLD_SCRATCH):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.out / name)
        # Nameless: it vanishes with the process, however the run ends.
        self._scratch: IO[str] = tempfile.TemporaryFile(  # noqa: SIM115 - finish() closes it
            "w+", encoding="utf-8", dir=self.out, prefix=".review-"
        )
        self.skipped: list[dict[str, Any]] = []
        self.totals: Counter[str] = Counter()
        self.engines: dict[str, Counter[str]] = {}
        # (capability, engine that served, why not the preferred one) -> files
        self.fallbacks: Counter[tuple[str, str, str]] = Counter()
        self.lint_codes: Counter[str] = Counter()
        self.unparsable: list[dict[str, Any]] = []
        self.failed: list[dict[str, Any]] = []
        self._top: list[tuple[int, int, dict[str, Any]]] = []
        self._edges: dict[str, set[tuple[str, tuple[str, ...]]]] = {}
        self._lint_sample: list[dict[str, Any]] = []
        self._seq = 0
        self._started = time.time()

    def skip(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Record entries of the tree that were not reviewed (``{"path", "kind", "reason"}``)."""
        for entry in entries:
            path, kind, reason = (str(entry.get(k)) for k in ("path", "kind", "reason"))
            self.skipped.append({"path": display_path(path), "kind": kind, "reason": reason})

    def add(self, file: Mapping[str, Any], results: Mapping[str, Any]) -> dict[str, Any]:
        """Record one file's results (capability -> ``{"provider", "result", "fallback"}``)."""
        entry: dict[str, Any] = {"path": file["relpath"], "module": file["module"]}
        for capability, served in results.items():
            provider = served.get("provider") if isinstance(served, Mapping) else None
            self.engines.setdefault(capability, Counter())[provider or "(failed)"] += 1
            entry.setdefault("engines", {})[capability] = provider
            why = served.get("fallback") if isinstance(served, Mapping) else None
            if provider and why:
                self.fallbacks[capability, str(provider), str(why)] += 1
                entry.setdefault("fallbacks", {})[capability] = str(why)
        parse_error = self._errors(entry, results)
        entry["ok"] = parse_error is None
        self._complexity(entry, _result(results, "python.complexity"))
        self._lint(entry, _result(results, "python.lint"))
        self._symbols(entry, _result(results, "python.symbols"))
        self._imports(entry, file["module"], _result(results, "python.imports"))
        self.totals["files"] += 1
        self.totals["parsed" if parse_error is None else "unparsable"] += 1
        self._scratch.write(json.dumps(entry) + "\n")
        return {"path": entry["path"], "ok": entry["ok"]}

    def _errors(self, entry: dict[str, Any], results: Mapping[str, Any]) -> Any:
        first = None
        for capability, served in results.items():
            result = served.get("result") if isinstance(served, Mapping) else None
            if not isinstance(result, Mapping):
                self.failed.append({"path": entry["path"], "capability": capability})
                continue
            if result.get("ok") is False and first is None:
                first = result.get("error")
        if first is not None:
            entry["error"] = first
            self.unparsable.append({"path": entry["path"], "error": first})
        return first

    def _complexity(self, entry: dict[str, Any], result: Mapping[str, Any]) -> None:
        functions = [
            {k: f.get(k) for k in ("qualname", "lineno", "complexity", "rank")}
            for f in result.get("functions", ())
        ]
        entry["functions"] = functions
        self.totals["functions"] += len(functions)
        self.totals["complexity"] += sum(f["complexity"] or 0 for f in functions)
        for f in functions:
            item = (f["complexity"] or 0, -self._seq, {"path": entry["path"], **f})
            self._seq += 1
            if len(self._top) < TOP:
                heapq.heappush(self._top, item)
            elif item > self._top[0]:
                heapq.heapreplace(self._top, item)

    def _lint(self, entry: dict[str, Any], result: Mapping[str, Any]) -> None:
        problems = list(result.get("problems", ()))
        entry["lint"] = problems
        self.totals["lint_problems"] += len(problems)
        for problem in problems:
            self.lint_codes[str(problem.get("code"))] += 1
            if len(self._lint_sample) < MARKDOWN_LINT_LIMIT:
                self._lint_sample.append({"path": entry["path"], **problem})

    def _symbols(self, entry: dict[str, Any], result: Mapping[str, Any]) -> None:
        symbols = list(result.get("symbols", ()))
        kinds = Counter(str(s.get("kind")) for s in symbols)
        entry["symbols"] = dict(sorted(kinds.items()))
        entry["public"] = sum(1 for s in symbols if s.get("is_public"))
        self.totals["symbols"] += len(symbols)

    def _imports(
        self, entry: dict[str, Any], module: str | None, result: Mapping[str, Any]
    ) -> None:
        records = [i for i in result.get("imports", ()) if i.get("module")]
        entry["imports"] = sorted({str(i["module"]) for i in records})
        # Only imports that run when the module is imported can form a cycle that bites;
        # those under `if TYPE_CHECKING:` never run.
        if module is not None:
            # ``from pkg import sub`` may import the module pkg.sub: keep the names too.
            self._edges[module] = {
                (str(i["module"]), tuple(i.get("names") or ()))
                for i in records
                if not i.get("type_checking")
            }

    def cycles(self) -> list[list[str]]:
        """Import cycles among the tree's own modules (strongly connected components)."""
        known = set(self._edges)
        graph = {m: sorted(_within(targets, known)) for m, targets in self._edges.items()}
        return [c for c in _components(graph) if len(c) > 1 or c[0] in graph.get(c[0], ())]

    def finish(self) -> dict[str, Any]:
        """Write the report; return where it is and the totals."""
        cycles = self.cycles()
        totals = self._summary(len(cycles))
        json_path, md_path = self.out / "report.json", self.out / "report.md"
        _replace(json_path, lambda out: self._write_json(out, totals, cycles))
        _replace(md_path, lambda out: out.write(self._markdown(totals, cycles)))
        self._scratch.close()
        return {"json": str(json_path), "markdown": str(md_path), "totals": totals}

    def _summary(self, cycles: int) -> dict[str, Any]:
        t = self.totals
        functions = t["functions"]
        return {
            "files": t["files"],
            "parsed": t["parsed"],
            "unparsable": t["unparsable"],
            "functions": functions,
            "symbols": t["symbols"],
            "lint_problems": t["lint_problems"],
            "import_cycles": cycles,
            "engine_failures": len(self.failed),
            "fallbacks": sum(self.fallbacks.values()),
            "skipped": len(self.skipped),
            "average_complexity": round(t["complexity"] / functions, 2) if functions else 0.0,
            "seconds": round(time.time() - self._started, 3),
        }

    def _most_complex(self) -> list[dict[str, Any]]:
        return [item[2] for item in sorted(self._top, reverse=True)]

    def _write_json(self, out: IO[str], totals: Mapping[str, Any], cycles: list[list[str]]) -> None:
        head = {
            "schema": SCHEMA_VERSION,
            "run": self.run_id,
            "started": _iso(self._started),
            "root": self.root,
            "totals": totals,
            "engines": {c: dict(n) for c, n in sorted(self.engines.items())},
            "fallbacks": [
                {"capability": c, "engine": e, "why": why, "files": n}
                for (c, e, why), n in sorted(self.fallbacks.items())
            ],
            "most_complex": self._most_complex(),
            "lint_codes": dict(self.lint_codes.most_common()),
            "import_cycles": cycles,
            "unparsable": self.unparsable,
            "engine_failures": self.failed,
            "skipped": self.skipped,
        }
        out.write(json.dumps(head, indent=1)[:-2] + ',\n "files": [\n')
        for i, line in enumerate(self._lines()):
            out.write(("" if i == 0 else ",\n") + "  " + line)
        out.write("\n ]\n}\n")

    def _lines(self) -> Iterator[str]:
        self._scratch.flush()
        self._scratch.seek(0)
        for line in self._scratch:
            yield line.rstrip("\n")

    def _markdown(self, totals: Mapping[str, Any], cycles: list[list[str]]) -> str:
        m = markdown_text
        lines = [f"# Code review of {m(self.root)}", ""]
        lines += [f"Run {m(self.run_id or '(unknown)')}, started {_iso(self._started)}.", ""]
        lines += ["| measure | value |", "| --- | ---: |"]
        lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in totals.items()]
        lines += [
            "",
            "## Engines that produced each finding",
            "",
            "| capability | engine | files |",
            "| --- | --- | ---: |",
        ]
        for cap, counts in sorted(self.engines.items()):
            lines += [f"| {m(cap)} | {m(name)} | {n} |" for name, n in counts.most_common()]
        lines += ["", "## Findings not made by the preferred engine", ""]
        lines += [
            f"- {m(cap)}: {m(engine)} served {n} file(s) because {m(why)}"
            for (cap, engine, why), n in sorted(self.fallbacks.items())
        ] or ["None."]
        lines += [
            "",
            f"## The {TOP} most complex functions",
            "",
            "| complexity | rank | function | file |",
            "| ---: | --- | --- | --- |",
        ]
        lines += [
            f"| {m(f['complexity'])} | {m(f['rank'])} | {m(f['qualname'])} "
            f"| {m(f['path'])}:{m(f['lineno'])} |"
            for f in self._most_complex()
        ]
        lines += ["", "## Import cycles", ""]
        lines += [f"- {' -> '.join(m(x) for x in [*c, c[0]])}" for c in cycles] or ["None."]
        lines += ["", "## Lint problems", ""]
        lines += [
            f"- {m(p['path'])}:{m(p.get('line'))} {m(p.get('code'))}: {m(p.get('message'))}"
            for p in self._lint_sample
        ] or ["None."]
        if totals["lint_problems"] > len(self._lint_sample):
            lines.append(
                f"- ... and {totals['lint_problems'] - len(self._lint_sample)} more in report.json"
            )
        lines += ["", "## Files that could not be analysed", ""]
        lines += [
            f"- {m(u['path'])}: {m((u['error'] or {}).get('message'))}" for u in self.unparsable
        ]
        lines += [
            f"- {m(f['path'])}: every engine for {m(f['capability'])} failed" for f in self.failed
        ]
        if not self.unparsable and not self.failed:
            lines.append("None.")
        lines += ["", "## Files and folders not reviewed", ""]
        lines += [f"- {m(s['path'])} ({m(s['kind'])}): {m(s['reason'])}" for s in self.skipped]
        if not self.skipped:
            lines.append("None.")
        return "\n".join(lines) + "\n"


# Control characters, line and paragraph separators, and bidirectional overrides: shown
# as escapes, so a name cannot start a new line (a heading) or reorder what is read.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# ASCII punctuation that means something inline in CommonMark and GitHub tables; the
# others (``.``, ``-``, ``+``, ``=``) only mean something at the start of a line, which
# no value here can reach once its line breaks are escapes.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#!|~])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def markdown_text(value: object) -> str:
    """``value`` as Markdown text that renders as itself, never as markup or HTML.

    Control characters and line breaks become visible escapes (``\\n``), Markdown's
    inline metacharacters are backslash-escaped, and ``&``, ``<``, ``>`` become entities.
    """
    text = display_path(str(value))
    text = _INVISIBLE.sub(lambda c: _NAMED.get(c[0]) or _escape_code(c[0]), text)
    text = _MARKDOWN.sub(r"\\\1", text)
    return re.sub("[&<>]", lambda c: _ENTITIES[c[0]], text)


def _escape_code(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _replace(target: Path, write: Callable[[IO[str]], object]) -> None:
    """Write ``target`` through a new temporary file in its folder, then rename it over.

    The rename replaces whatever ``target`` is (a planted symlink included) without
    following it, and readers see the old file or the complete new one, never a part.
    """
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide the report from its readers
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _result(results: Mapping[str, Any], capability: str) -> Mapping[str, Any]:
    served = results.get(capability)
    result = served.get("result") if isinstance(served, Mapping) else None
    return result if isinstance(result, Mapping) and result.get("ok", True) else {}


def _within(targets: set[tuple[str, tuple[str, ...]]], known: set[str]) -> set[str]:
    """The tree's modules that imports of ``(module, names)`` load.

    ``from pkg import sub`` loads ``pkg.sub`` when that is a module of the tree (and
    ``pkg`` itself); ``import a.b.c`` loads the nearest known ancestor of ``a.b.c``.
    """
    found = set()
    for module, names in targets:
        found.update(f"{module}.{n}" for n in names if f"{module}.{n}" in known)
        nearest = module
        while nearest and nearest not in known:
            nearest = nearest.rpartition(".")[0]
        if nearest:
            found.add(nearest)
    return found


def _components(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (deep trees would recurse)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(graph.get(start, ())))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            nxt = next(edges, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component))
    return sorted(result)
