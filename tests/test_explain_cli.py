"""`hybrid explain`: which provider the router would choose now, why, and the others' scores."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from hybrid_core._cli.trace import explain

PLUGIN = """
import hybrid_core


def handler(payload):
    return payload


class ByPayload:
    name = "by_payload"

    def order(self, candidates, request):
        wanted = (request.payload or {}).get("prefer")
        return sorted(((p, 1.0 if p.name == wanted else 0.0) for p in candidates),
                      key=lambda pair: -pair[1])


@hybrid_core.hookimpl
def hybrid_engines():
    return [hybrid_core.Engine(name="NAME", capabilities={"text.upper": PRIORITY},
                               handler=handler)]
"""

STRATEGY = """
@hybrid_core.hookimpl
def hybrid_routing_strategies():
    return [ByPayload()]
"""


@pytest.fixture
def config(install_plugin: Callable[..., Path], tmp_path: Path) -> Path:
    """Two installed plugins serving text.upper (priorities 9 and 3), one with a strategy."""
    alpha = PLUGIN.replace("NAME", "alpha.upper").replace("PRIORITY", "9")
    beta = PLUGIN.replace("NAME", "beta.upper").replace("PRIORITY", "3") + STRATEGY
    install_plugin("alpha", "alpha_plugin", alpha)
    install_plugin("beta", "beta_plugin", beta)
    path = tmp_path / "hybrid.toml"
    path.write_text('[plugins]\nonly = ["alpha", "beta"]\n')
    return path


def invoke(config: Path, *args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(explain, [*args, "--config", str(config)])
    return done.exit_code, done.stdout, done.stderr


def test_the_choice_the_reason_and_every_candidates_score(config: Path) -> None:
    code, out, err = invoke(config, "text.upper")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "text.upper: priority would choose 'alpha.upper'"
    assert lines[1] == "reason: priority chose 'alpha.upper' (score 9)"
    header, first, second = lines[3:6]
    assert header.split() == [
        "rank",
        "provider",
        "score",
        "available",
        "in",
        "flight",
        "calls",
        "failures",
        "latency",
        "ms",
    ]
    assert first.split()[:4] == ["1", "alpha.upper", "9", "yes"]
    assert second.split()[:4] == ["2", "beta.upper", "3", "yes"]
    # A fresh command has made no calls: it says its statistics cannot show any.
    assert "this command has made no calls" in " ".join(lines[6:])


def test_json_is_the_decision(config: Path) -> None:
    code, out, _ = invoke(config, "text.upper", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["choice"] == "alpha.upper" and data["order"] == ["alpha.upper", "beta.upper"]
    assert data["scores"] == {"alpha.upper": 9.0, "beta.upper": 3.0}
    assert data["strategy"] == "priority" and data["cooled"] == []
    assert data["stats"]["beta.upper"]["calls"] == 0


def test_the_payload_reaches_the_strategy(config: Path, tmp_path: Path) -> None:
    code, out, _ = invoke(
        config, "text.upper", "--strategy", "by_payload", "--payload", '{"prefer": "beta.upper"}'
    )
    assert code == 0 and out.startswith("text.upper: by_payload would choose 'beta.upper'")
    payload = tmp_path / "payload.json"
    payload.write_text('{"prefer": "alpha.upper"}')
    code, out, _ = invoke(
        config, "text.upper", "--strategy", "by_payload", "--payload", f"@{payload}"
    )
    assert code == 0 and "would choose 'alpha.upper'" in out


def test_another_built_in_strategy_can_be_asked_for(config: Path) -> None:
    code, out, _ = invoke(config, "text.upper", "--strategy", "least_loaded", "--json")
    assert code == 0 and json.loads(out)["strategy"] == "least_loaded"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["text.uper"], "did you mean 'text.upper'?"),
        (["text.upper", "--strategy", "fastest"], "fastest"),
        (["text.upper", "--payload", "{nope"], "--payload is not valid JSON"),
        (["text.upper", "--payload", "@missing.json"], "cannot read missing.json"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(config: Path, args: list[str], message: str) -> None:
    code, out, err = invoke(config, *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
