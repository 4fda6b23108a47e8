"""The review report: findings streamed in file by file, written as JSON and Markdown.

Memory stays flat however large the tree: each file's findings go to a scratch JSON
lines file as they arrive; only totals, the most complex functions and the lint problems
shown in Markdown (bounded heaps), the engines used, the import edges between the tree's
modules and, per file, its path and where its line is in the scratch file are kept in
memory. The final JSON streams the scratch file back out in path order.

The report is deterministic: whatever order files finish in and however many workers
there are, every list is ordered by a documented key (files by path; lint problems by
severity, then path, line, column and code; functions by complexity, then path and
line), so two runs over an unchanged tree differ only in the run id and the timings.

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

from ._cycles import SMALL_COMPONENT, ImportCycle, ImportGraph, cycle_lines
from ._discover import display_path

__all__ = ["REPORT_FILES", "SCHEMA_VERSION", "ReportWriter", "markdown_text"]

SCHEMA_VERSION = 1
TOP = 25
MARKDOWN_LINT_LIMIT = 200
FIRST_LOOK = 10  # likely bugs listed in "Look here first"
# Lint problems by how likely they are to be bugs; problems without a known severity last.
SEVERITY_RANK = {"error": 0, "warning": 1}
RANK_LEGEND = (
    "Ranks: A 1-5 (simple), B 6-10, C 11-20 (complex), D 21-30, E 31-40, F 41+ "
    "(very hard to test); the number is the cyclomatic complexity."
)
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
        # A large buffer: one write per megabyte, not one per file.
        self._scratch: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115 - finish() closes it
            "w+b", buffering=_SCRATCH_BUFFER, dir=self.out, prefix=".review-"
        )
        self._where: list[tuple[str, int, int]] = []  # (path, offset, length) per file
        self._written = 0  # the scratch file's length (tell() would flush the buffer)
        self.skipped: list[dict[str, Any]] = []
        self.totals: Counter[str] = Counter()
        self.engines: dict[str, Counter[str]] = {}
        # (capability, engine that served, why not the preferred one) -> files
        self.fallbacks: Counter[tuple[str, str, str]] = Counter()
        self.severities: Counter[str] = Counter()
        self._code_info: dict[str, tuple[str, str]] = {}  # code -> (rule, severity)
        self.lint_codes: Counter[str] = Counter()
        self.unparsable: list[dict[str, Any]] = []
        self.failed: list[dict[str, Any]] = []
        self._top = _Smallest(TOP, _complexity_key, _complexity_first)
        self._graph = ImportGraph()
        self._import_warnings: list[Any] = []
        self._lint_sample = _Smallest(MARKDOWN_LINT_LIMIT, _lint_key, _lint_first)
        self._started = time.time()

    def skip(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Record entries of the tree that were not reviewed (``{"path", "kind", "reason"}``)."""
        for entry in entries:
            path, kind, reason = (str(entry.get(k)) for k in ("path", "kind", "reason"))
            self.skipped.append({"path": display_path(path), "kind": kind, "reason": reason})

    def add(self, file: Mapping[str, Any], results: Mapping[str, Any]) -> dict[str, Any]:
        """Record one file's results (capability -> ``{"provider", "result", "fallback"}``)."""
        entry: dict[str, Any] = {"path": file["relpath"], "module": file["module"]}
        engines: dict[str, str | None] = {}
        for capability, served in sorted(results.items()):
            provider = served.get("provider") if isinstance(served, Mapping) else None
            self.engines.setdefault(capability, Counter())[provider or "(failed)"] += 1
            engines[capability] = provider
            why = served.get("fallback") if isinstance(served, Mapping) else None
            if provider and why:
                self.fallbacks[capability, str(provider), str(why)] += 1
                entry.setdefault("fallbacks", {})[capability] = str(why)
        entry["engines"] = engines
        parse_error = self._errors(entry, file, results)
        entry["ok"] = parse_error is None
        self._complexity(entry, _result(results, "python.complexity"), engines)
        self._lint(entry, _result(results, "python.lint"), engines)
        self._symbols(entry, _result(results, "python.symbols"))
        self._imports(entry, file["module"], _result(results, "python.imports"))
        self.totals["files"] += 1
        self.totals["parsed" if parse_error is None else "unparsable"] += 1
        line = json.dumps(entry).encode("utf-8", "backslashreplace") + b"\n"
        self._where.append((entry["path"], self._written, len(line)))
        self._scratch.write(line)
        self._written += len(line)
        return {"path": entry["path"], "ok": entry["ok"]}

    def _errors(
        self, entry: dict[str, Any], file: Mapping[str, Any], results: Mapping[str, Any]
    ) -> Any:
        first = None
        for capability, served in sorted(results.items()):
            result = served.get("result") if isinstance(served, Mapping) else None
            if not isinstance(result, Mapping):
                self.failed.append({"path": entry["path"], "capability": capability})
                continue
            if result.get("ok") is False and first is None:
                first = _relative_error(result.get("error"), file)
        if first is not None:
            entry["error"] = first
            self.unparsable.append({"path": entry["path"], "error": first})
        return first

    def _complexity(
        self, entry: dict[str, Any], result: Mapping[str, Any], engines: Mapping[str, Any]
    ) -> None:
        engine = engines.get("python.complexity")
        functions = [
            {"qualname": f.get("qualname"), "lineno": f.get("lineno"),
             "complexity": f.get("complexity"), "rank": f.get("rank"), "engine": engine}
            for f in result.get("functions", ())
        ]  # fmt: skip
        entry["functions"] = functions
        self.totals["functions"] += len(functions)
        self.totals["complexity"] += sum(f["complexity"] or 0 for f in functions)
        for f in functions:
            self._top.offer(f, entry["path"])

    def _lint(
        self, entry: dict[str, Any], result: Mapping[str, Any], engines: Mapping[str, Any]
    ) -> None:
        engine = engines.get("python.lint")
        problems = [{**problem, "engine": engine} for problem in result.get("problems", ())]
        problems.sort(key=_lint_key)
        entry["lint"] = problems
        self.totals["lint_problems"] += len(problems)
        suppressed = result.get("suppressed")
        if isinstance(suppressed, int) and not isinstance(suppressed, bool):
            self.totals["lint_suppressed"] += suppressed
        for problem in problems:
            code = str(problem.get("code"))
            self.lint_codes[code] += 1
            if code not in self._code_info:
                info = (str(problem.get("rule") or ""), str(problem.get("severity") or ""))
                self._code_info[code] = info
            severity = problem.get("severity")
            if severity is not None:
                self.severities[str(severity)] += 1
            self._lint_sample.offer(problem, entry["path"])

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
        if module is not None:
            # Only imports that run when the module is imported can form a cycle that
            # bites; the graph leaves out the others (see ImportGraph).
            self._graph.add(module, entry["path"], records)

    def cycles(self) -> list[ImportCycle]:
        """Import cycles among the tree's own modules (see :class:`ImportGraph`)."""
        return self._graph.cycles()

    def finish(self) -> dict[str, Any]:
        """Write the report; return where it is and the totals."""
        self._sort_lists()
        cycles = self.cycles()
        self._import_warnings = list(self._graph.warnings())
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
            "likely_bugs": self.severities["error"],
            "lint_suppressed": t["lint_suppressed"],
            "import_cycles": cycles,
            "engine_failures": len(self.failed),
            "fallbacks": sum(self.fallbacks.values()),
            "skipped": len(self.skipped),
            "average_complexity": round(t["complexity"] / functions, 2) if functions else 0.0,
            "seconds": round(time.time() - self._started, 3),
        }

    def _most_complex(self) -> list[dict[str, Any]]:
        return self._top.sorted()

    def _lint_codes(self) -> list[tuple[str, int]]:
        return sorted(self.lint_codes.items(), key=lambda kv: (-kv[1], kv[0]))

    def _sort_lists(self) -> None:
        """Everything collected in completion order, put in its documented order."""
        self.unparsable.sort(key=lambda u: u["path"])
        self.failed.sort(key=lambda f: (f["path"], f["capability"]))
        self.skipped.sort(key=lambda s: (s["path"], s["kind"]))
        self._where.sort()

    def _write_json(
        self, out: IO[str], totals: Mapping[str, Any], cycles: list[ImportCycle]
    ) -> None:
        head = {
            "schema": SCHEMA_VERSION,
            "run": self.run_id,
            "started": _iso(self._started),
            "root": self.root,
            "totals": totals,
            "engines": {c: dict(_by_count(n)) for c, n in sorted(self.engines.items())},
            "fallbacks": [
                {"capability": c, "engine": e, "why": why, "files": n}
                for (c, e, why), n in sorted(self.fallbacks.items())
            ],
            "most_complex": self._most_complex(),
            "lint_codes": dict(self._lint_codes()),
            "import_cycles": cycles,
            "import_warnings": self._import_warnings,
            "unparsable": self.unparsable,
            "engine_failures": self.failed,
            "skipped": self.skipped,
        }
        out.write(json.dumps(head, indent=1)[:-2] + ',\n "files": [\n')
        for i, line in enumerate(self._lines()):
            out.write(("" if i == 0 else ",\n") + "  " + line)
        out.write("\n ]\n}\n")

    def _lines(self) -> Iterator[str]:
        """Each file's JSON line from the scratch file, in path order."""
        self._scratch.flush()
        for _, offset, length in self._where:
            self._scratch.seek(offset)
            yield self._scratch.read(length).decode("utf-8").rstrip("\n")

    def _markdown(self, totals: Mapping[str, Any], cycles: list[ImportCycle]) -> str:
        m = markdown_text
        lines = [f"# Code review of {m(self.root)}", ""]
        lines += [f"Run {m(self.run_id or '(unknown)')}, started {_iso(self._started)}.", ""]
        lines += self._first_look(totals, cycles)
        lines += ["", "| measure | value |", "| --- | ---: |"]
        lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in totals.items()]
        lines += [
            "",
            "## Engines that produced each finding",
            "",
            "| capability | engine | files |",
            "| --- | --- | ---: |",
        ]
        for cap, counts in sorted(self.engines.items()):
            lines += [f"| {m(cap)} | {m(name)} | {n} |" for name, n in _by_count(counts)]
        lines += ["", "## Findings not made by the preferred engine", ""]
        lines += [
            f"- {m(cap)}: {m(engine)} served {n} file(s) because {m(why)}"
            for (cap, engine, why), n in sorted(self.fallbacks.items())
        ] or ["None."]
        lines += ["", f"## The {TOP} most complex functions", "", RANK_LEGEND, ""]
        lines += ["| complexity | rank | function | file | engine |"]
        lines += ["| ---: | --- | --- | --- | --- |"]
        lines += [
            f"| {m(f['complexity'])} | {m(f['rank'])} | {m(f['qualname'])} "
            f"| {m(f['path'])}:{m(f['lineno'])} | {m(f['engine'])} |"
            for f in self._most_complex()
        ]
        lines += ["", "## Import cycles", ""]
        lines += self._cycles_markdown(cycles)
        lines += ["", "## Lint problems", ""]
        lines += self._lint_markdown(totals)
        lines += ["", "## Files that could not be analysed", ""]
        lines += [f"- {m(_unparsable_line(u))}" for u in self.unparsable]
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

    def _cycles_markdown(self, cycles: list[ImportCycle]) -> list[str]:
        """Each cycle as the import statements that make it, one per line."""
        m = markdown_text
        lines: list[str] = []
        for component in cycles:
            size, modules = component["size"], component["modules"]
            if size > SMALL_COMPONENT:
                shown = ", ".join(m(x) for x in modules[:5])
                lines.append(
                    f"- {size} modules import each other ({shown}, ...); "
                    f"{len(component['cycles'])} of their shortest cycles:"
                )
            else:
                lines.append(f"- {size} modules: " + ", ".join(m(x) for x in modules))
            for cycle in component["cycles"]:
                lines.append(f"  - a cycle of {len(cycle)} import(s):")
                lines += [f"    - {line}" for line in cycle_lines(cycle, m)]
        if not lines:
            lines.append("None.")
        warnings = self._import_warnings
        if warnings:
            lines += [
                "",
                f"{len(warnings)} relative import(s) could not be resolved to a module of "
                "the tree, so no cycle through them can be seen:",
                "",
            ]
            lines += [f"- {m(w['path'])}:{w['line']}: {m(w['message'])}" for w in warnings[:20]]
            if len(warnings) > 20:
                lines.append(f"- ... and {len(warnings) - 20} more in report.json")
        return lines

    def _first_look(self, totals: Mapping[str, Any], cycles: list[ImportCycle]) -> list[str]:
        """The short section a reader sees first: likely bugs, complexity, cycles."""
        m = markdown_text
        lines = ["## Look here first", ""]
        bugs = [p for p in self._lint_sample.sorted() if p.get("severity") == "error"]
        count = totals["likely_bugs"]
        lines.append(f"- Likely bugs: {count}" + (":" if count else "."))
        lines += [f"  - {_lint_line(p)}" for p in bugs[:FIRST_LOOK]]
        if count > min(len(bugs), FIRST_LOOK):
            lines.append(f"  - ... and {count - min(len(bugs), FIRST_LOOK)} more below")
        top = self._most_complex()[:3]
        if top:
            named = ", ".join(
                f"{m(f['qualname'])} ({m(f['path'])}:{m(f['lineno'])}, {m(f['complexity'])})"
                for f in top
            )
            lines.append(f"- Most complex functions: {named}.")
        lines.append(f"- Import cycles: {len(cycles)}.")
        unreadable = totals["unparsable"] + totals["engine_failures"]
        if unreadable or totals["skipped"]:
            lines.append(
                f"- Not analysed: {unreadable} file(s) could not be analysed, "
                f"{totals['skipped']} entr(ies) were not reviewed (listed at the end)."
            )
        return lines

    def _lint_markdown(self, totals: Mapping[str, Any]) -> list[str]:
        m = markdown_text
        if not totals["lint_problems"]:
            return ["None."]
        lines = ["| code | rule | severity | problems |", "| --- | --- | --- | ---: |"]
        for code, n in self._lint_codes():
            rule, severity = self._code_info.get(code, ("", ""))
            lines.append(f"| {m(code)} | {m(rule)} | {m(severity)} | {n} |")
        if totals["lint_suppressed"]:
            lines += ["", f"{totals['lint_suppressed']} more silenced by `# noqa` comments."]
        shown = self._lint_sample.sorted()
        lines += ["", "Most likely bugs first, then by path and line:", ""]
        lines += [f"- {_lint_line(p)}" for p in shown]
        if totals["lint_problems"] > len(shown):
            lines.append(f"- ... and {totals['lint_problems'] - len(shown)} more in report.json")
        return lines


_SCRATCH_BUFFER = 1 << 20


class _Smallest:
    """The ``n`` smallest items offered, by ``key``, in a bounded heap; ties cannot depend
    on the order items were offered, since the key decides everything.

    ``first``, when given, computes the key's first element alone: once the heap is full,
    an item whose first element is larger than the largest kept key's cannot be kept, and
    is turned away without building its whole key (most functions of a tree are far from
    its most complex).
    """

    def __init__(
        self,
        n: int,
        key: Callable[[Mapping[str, Any], str | None], tuple[Any, ...]],
        first: Callable[[Mapping[str, Any]], Any] | None = None,
    ) -> None:
        self.n, self.key, self.first = n, key, first
        self._heap: list[tuple[_Reversed, int, dict[str, Any]]] = []
        self._count = 0

    def __len__(self) -> int:
        return len(self._heap)

    def offer(self, item: Mapping[str, Any], path: str) -> None:
        """Offer ``{"path": path, **item}``; the merged entry is made only if it is kept."""
        heap = self._heap
        first = self.first
        if first is not None and len(heap) >= self.n and first(item) > heap[0][0].key[0]:
            self._count += 1
            return
        key = self.key(item, item.get("path", path))  # the merged entry's path
        count = self._count
        self._count += 1
        if len(heap) < self.n:
            heapq.heappush(heap, (_Reversed(key), count, {"path": path, **item}))
        elif key < heap[0][0].key:  # smaller by key than the largest kept
            heapq.heapreplace(heap, (_Reversed(key), count, {"path": path, **item}))

    def sorted(self) -> list[dict[str, Any]]:
        return [item for _, _, item in sorted(self._heap, key=lambda e: e[0].key)]


class _Reversed:
    """A key that compares the other way round, so a min-heap keeps the smallest keys."""

    __slots__ = ("key",)

    def __init__(self, key: tuple[Any, ...]) -> None:
        self.key = key

    def __lt__(self, other: _Reversed) -> bool:
        return self.key > other.key

    def __gt__(self, other: _Reversed) -> bool:
        return self.key < other.key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.key == other.key

    __hash__ = None  # type: ignore[assignment]


def _complexity_key(f: Mapping[str, Any], path: str | None = None) -> tuple[Any, ...]:
    """The top list's order; ``path`` stands for ``f["path"]`` when given."""
    return (_complexity_first(f), str(f.get("path") if path is None else path),
            f.get("lineno") or 0, str(f.get("qualname")))  # fmt: skip


def _complexity_first(f: Mapping[str, Any]) -> int:
    """The first element of :func:`_complexity_key`: the negated complexity."""
    return -(f.get("complexity") or 0)


def _lint_first(p: Mapping[str, Any]) -> int:
    """The first element of :func:`_lint_key`: the severity's rank."""
    return SEVERITY_RANK.get(str(p.get("severity")), len(SEVERITY_RANK))


def _lint_key(p: Mapping[str, Any], path: str | None = None) -> tuple[Any, ...]:
    """The order of lint problems; ``path`` stands for ``p["path"]`` when given."""
    return (
        _lint_first(p),
        str(p.get("path", "") if path is None else path),
        p.get("line") or 0,
        p.get("column") or 0,
        str(p.get("code")),
        str(p.get("message")),
    )


def _lint_line(p: Mapping[str, Any]) -> str:
    m = markdown_text
    rule = f"{m(p['rule'])} " if p.get("rule") else ""
    return (
        f"{m(p['path'])}:{m(p.get('line'))} {rule}{m(p.get('code'))}: {m(p.get('message'))} "
        f"({m(p.get('engine'))})"
    )


def _unparsable_line(u: Mapping[str, Any]) -> str:
    """``path:line:column: reason``, naming the path once (the message usually starts so)."""
    error = u.get("error")
    message = str(error.get("message")) if isinstance(error, Mapping) else "unknown error"
    return message if message.startswith(f"{u['path']}:") else f"{u['path']}: {message}"


def _by_count(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _relative_error(error: Any, file: Mapping[str, Any]) -> Any:
    """The engine's error with the file's absolute path in its message made relative."""
    if not isinstance(error, Mapping):
        return error
    message = error.get("message")
    absolute, relative = str(file.get("path")), str(file.get("relpath"))
    if isinstance(message, str) and message.startswith(absolute + ":"):
        return {**error, "message": relative + message[len(absolute) :]}
    return dict(error)


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
