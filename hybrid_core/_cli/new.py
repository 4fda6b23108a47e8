"""``hybrid new KIND NAME``: write a plugin distribution whose own tests pass at once.

The files come from the templates shipped beside this module (``templates/``, package
data), filled in with :class:`string.Template`. Each kind adds one module to the
package, the test that runs its contract suite, and its part of the README; the package's
``__init__`` re-exports the hooks of every kind chosen, so the entry point sees them all.
A sink, an executor or a strategy also declares its settings table (``settings.py``, the
``hybrid_settings()`` hook), and a workflow ships as ``workflows.toml``, package data.
"""

from __future__ import annotations

import difflib
import keyword
import re
import shutil
import string
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import attrs
import click

import hybrid_core

from .app import UsageFailure, _emit_json, _options, global_options, handle_errors

__all__ = [
    "KINDS",
    "Names",
    "hooks",
    "new",
    "parse_kinds",
    "plugin_names",
    "render",
    "scaffold",
]

#: Every kind a scaffold can hold, and the hook each kind's module implements.
KINDS: dict[str, str] = {
    "engine": "hybrid_engines",
    "executor": "hybrid_executors",
    "sink": "hybrid_telemetry_sinks",
    "strategy": "hybrid_routing_strategies",
    "workflow": "hybrid_workflows",
}

# The kinds whose provider reads a settings table, declared through ``hybrid_settings()``.
_CONFIGURED = ("executor", "sink", "strategy")

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*\Z")
_OWN_PREFIX = "hybrid-core-"
# Names a package of the scaffold must not take: they would shadow what it imports.
_TAKEN = frozenset({"hybrid_core", "pytest", "tests", "test", "pluggy", "attrs", "click"})


@attrs.frozen
class Names:
    """The names one scaffold derives from its NAME.

    ``distribution`` is NAME as given (what ``pip install`` takes), ``package`` the import
    name (lower case, ``-`` as ``_``), ``plugin`` the entry-point name (NAME in lower case,
    without a leading ``hybrid-core-``): what ``hybrid plugins`` lists and
    ``HYBRID_CORE_PLUGINS`` selects, and the name of the strategy, sink and executor.
    """

    distribution: str
    package: str
    plugin: str


def plugin_names(name: str) -> Names:
    """The names for ``name``; a UsageFailure says why a name cannot be used."""
    if not _NAME.match(name):
        raise UsageFailure(
            f"plugin name {name!r} is not valid: use letters and digits, with single '-' or "
            "'_' between them, starting with a letter (e.g. 'acme-text')"
        )
    package = name.lower().replace("-", "_")
    taken = package in _TAKEN or package in sys.stdlib_module_names or keyword.iskeyword(package)
    if taken:
        raise UsageFailure(
            f"plugin name {name!r} would make the package {package!r}, which shadows a "
            "module of that name; choose another name (e.g. 'acme-text')"
        )
    plugin = name.lower().replace("_", "-")
    if plugin.startswith(_OWN_PREFIX) and len(plugin) > len(_OWN_PREFIX):
        plugin = plugin.removeprefix(_OWN_PREFIX)
    return Names(distribution=name, package=package, plugin=plugin)


def parse_kinds(text: str) -> tuple[str, ...]:
    """``engine`` or ``engine,sink``: the kinds named, in the order of :data:`KINDS`."""
    given = [part.strip().lower() for part in text.split(",")]
    for kind in given:
        if kind not in KINDS:
            close = difflib.get_close_matches(kind, KINDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageFailure(
                f"unknown kind {kind!r}{hint}; KIND is one of {', '.join(KINDS)}, or several "
                "joined by commas (engine,sink)"
            )
    return tuple(kind for kind in KINDS if kind in given)


def hooks(kinds: Sequence[str]) -> list[str]:
    """Every hook a scaffold of ``kinds`` implements, sorted."""
    found = {KINDS[kind] for kind in kinds}
    if any(kind in _CONFIGURED for kind in kinds):
        found.add("hybrid_settings")
    return sorted(found)


def _template(name: str) -> string.Template:
    source = resources.files(__package__ or "hybrid_core._cli") / "templates" / f"{name}.tmpl"
    return string.Template(source.read_text(encoding="utf-8"))


def _fill(name: str, values: dict[str, str]) -> str:
    return _template(name).substitute(values)


def render(kinds: Sequence[str], names: Names) -> dict[str, str]:
    """Every file of the scaffold: relative POSIX path -> text."""
    configured = [kind for kind in kinds if kind in _CONFIGURED]
    values = {
        "distribution": names.distribution,
        "package": names.package,
        "plugin": names.plugin,
        "core_version": hybrid_core.__version__,
        "kinds": ", ".join(kinds),
        "hooks": "".join(f'    "{hook}",\n' for hook in hooks(kinds)),
        "exports": "".join(f'    "{hook}",\n' for hook in hooks(kinds)),
        "package_data": ', "workflows.toml"' if "workflow" in kinds else "",
        "settings_imports": f"from . import {', '.join(configured)}\n" if configured else "",
        "settings_tables": ", ".join(f"**{kind}.SETTINGS" for kind in configured),
    }
    imports = [f"from .{kind} import {KINDS[kind]}\n" for kind in kinds]
    if configured:
        imports.append("from .settings import hybrid_settings\n")
    values["imports"] = "".join(sorted(imports))
    values["sections"] = "\n".join(_fill(f"{kind}/readme.md", values) for kind in kinds)
    values["changes"] = "".join(_fill(f"{kind}/changelog.md", values) for kind in kinds)
    src = f"src/{names.package}"
    files = {
        "pyproject.toml": _fill("pyproject.toml", values),
        "README.md": _fill("README.md", values),
        "CHANGELOG.md": _fill("CHANGELOG.md", values),
        ".gitignore": _fill("gitignore", values),
        ".github/workflows/test.yml": _fill("test.yml", values),
        f"{src}/__init__.py": _fill("__init__.py", values),
        f"{src}/py.typed": "",
        "tests/test_plugin.py": _fill("test_plugin.py", values),
    }
    for kind in kinds:
        files[f"{src}/{kind}.py"] = _fill(f"{kind}/module.py", values)
        files[f"tests/test_{kind}.py"] = _fill(f"{kind}/test.py", values)
    if configured:
        files[f"{src}/settings.py"] = _fill("settings.py", values)
    if "workflow" in kinds:
        files[f"{src}/workflows.toml"] = _fill("workflow/workflows.toml", values)
    return files


def scaffold(kinds: Sequence[str], names: Names, target: Path) -> list[str]:
    """Write the scaffold into ``target``, which must not exist; return the files written.

    The folder is claimed first (``mkdir`` fails on one that exists, so nothing is ever
    overwritten) and removed again when writing fails half-way.
    """
    files = render(kinds, names)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        target.mkdir()
    except FileExistsError:
        raise UsageFailure(
            f"{target} already exists; hybrid new writes a new folder and never overwrites "
            "one (give another NAME, or --dir PATH)"
        ) from None
    try:
        for relative, text in files.items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return sorted(files)


@click.command()
@click.argument("kind", metavar="KIND[,KIND...]")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    metavar="PATH",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to write the distribution (default: ./NAME); it must not exist.",
)
@global_options
@handle_errors
def new(kind: str, name: str, directory: Path | None) -> None:
    """Write a new plugin distribution, with tests that pass before you change a line.

    KIND is engine, executor, sink, strategy or workflow, or several joined by commas.
    NAME is the distribution's name; the package is NAME with '-' as '_'.

    \b
    Examples:
      hybrid new engine acme-text
      hybrid new engine,strategy acme-routing --dir plugins/acme-routing
    """
    opts = _options()
    kinds = parse_kinds(kind)
    names = plugin_names(name)
    target = directory if directory is not None else Path(name)
    written = scaffold(kinds, names, target)
    if opts.json:
        _emit_json(
            {
                "directory": str(target),
                "distribution": names.distribution,
                "package": names.package,
                "plugin": names.plugin,
                "kinds": list(kinds),
                "files": written,
            }
        )
        return
    if opts.quiet:
        return
    click.echo(f"wrote {names.distribution} ({', '.join(kinds)}) to {target}:")
    for relative in written:
        click.echo(f"  {relative}")
    click.echo(
        "\nnext:\n"
        f"  cd {target}\n"
        '  python -m pip install -e ".[test]"\n'
        "  python -m pytest\n"
        f"  hybrid plugins          # lists {names.plugin!r}"
    )
