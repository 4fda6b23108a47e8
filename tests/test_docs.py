"""Meta-tests that keep the documentation honest."""

from __future__ import annotations

import re
from pathlib import Path

from hybrid_core import hookspecs

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_hook_has_a_docstring_and_a_documented_section() -> None:
    text = (DOCS / "plugins.md").read_text()
    sections = set(re.findall(r"^### `(hybrid_\w+)\(", text, flags=re.MULTILINE))
    for name in hookspecs.__all__:
        assert getattr(hookspecs, name).__doc__, f"{name} has no docstring"
        assert name in sections, f"docs/plugins.md has no section for {name}"
    assert sections <= set(hookspecs.__all__), "docs/plugins.md documents a hook that is gone"


def test_documented_signatures_match_the_specs() -> None:
    import inspect

    text = (DOCS / "plugins.md").read_text()
    for name in hookspecs.__all__:
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"### `{name}({params})`" in text, name


def test_cli_doc_covers_every_verb() -> None:
    import click

    from hybrid_core._cli.app import cli

    text = (DOCS / "cli.md").read_text()
    for verb in cli.list_commands(click.Context(cli)):  # type: ignore[attr-defined]
        assert f"## `hybrid {verb}" in text, verb
