"""The HTML trace page in a real headless browser: the script builds the page it promises.

Chromium loads the page from disk (no network), runs its script, and dumps the resulting
DOM, which is what these tests read.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_trace_cli import record

from hybrid_core._cli.trace import trace

CHROMIUM = next(
    (
        found
        for name in ("chromium", "chromium-browser", "google-chrome")
        if (found := shutil.which(name))
    ),
    None,
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (Debian: apt-get install chromium); the HTML trace page "
    "is checked only in a real browser",
)


class Element:
    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag, self.attrs, self.text = tag, attrs, ""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class Dom(HTMLParser):
    """Every element with its attributes and all the text inside it."""

    VOID = frozenset({"meta", "br", "img", "input", "link", "hr", "rect", "path"})

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def find(self, **attrs: str) -> list[Element]:
        return [e for e in self.elements if all(e.attrs.get(k) == v for k, v in attrs.items())]


def browse(page: Path, profile: Path, *flags: str, fragment: str = "") -> str:
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={profile}", *flags, page.as_uri() + fragment,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("page")
    record(folder / "run.jsonl")
    out = folder / "run.html"
    done = CliRunner().invoke(trace, [str(folder / "run.jsonl"), "--html", str(out)])
    assert done.exit_code == 0, done.output
    return out


def dump(page: Path, tmp_path: Path, fragment: str = "") -> Dom:
    dom = Dom(browse(page, tmp_path / "profile", "--dump-dom", fragment=fragment))
    assert dom.find(**{"data-ready": "true"}), "the page's script did not finish"
    return dom


def test_the_timeline_has_a_row_per_span_with_its_status(page: Path, tmp_path: Path) -> None:
    dom = dump(page, tmp_path)
    steps = {e.text.strip().removeprefix("step"): e for e in dom.find(**{"data-kind": "step"})}
    assert set(steps) == {"parse", "summary", "count", "optional", "report"}
    assert steps["optional"].attrs["data-status"] == "skipped"
    assert steps["report"].attrs["data-status"] == "succeeded"
    assert "critical" in steps["report"].classes and "critical" not in steps["optional"].classes
    routes = dom.find(**{"data-kind": "route"})
    assert [r.attrs["data-status"] for r in routes] == ["error", "ok"]
    assert (
        len(dom.find(**{"data-kind": "call"})) == 2 and len(dom.find(**{"data-kind": "run"})) == 2
    )
    assert len([e for e in dom.elements if "bar" in e.classes]) == 11


def test_each_run_gets_a_graph_coloured_by_outcome(page: Path, tmp_path: Path) -> None:
    dom = dump(page, tmp_path)
    graphs = [e for e in dom.elements if e.tag == "figure" and "graph" in e.classes]
    assert [g.text.split(" (")[0] for g in graphs] == ["workflow review", "workflow summarise"]
    nodes = {e.attrs["data-step"]: e for e in dom.elements if "data-step" in e.attrs}
    assert set(nodes) == {"parse", "summary", "optional", "report", "count"}
    assert "skipped" in nodes["optional"].classes and "succeeded" in nodes["parse"].classes
    # The run recorded its dependency graph: review draws parse->summary, parse->report,
    # summary->report; the one-step summarise run draws none.
    assert "holds no dependency graph" not in graphs[0].text
    assert len([e for e in dom.elements if e.tag == "path" and "edge" in e.classes]) == 3


def test_a_span_named_in_the_address_opens_with_its_details(page: Path, tmp_path: Path) -> None:
    steps = dump(page, tmp_path).find(**{"data-kind": "step"})
    span_id = next(e for e in steps if "report" in e.text).attrs["data-span-id"]
    dom = dump(page, tmp_path, fragment=f"#span={span_id}")
    found = {e.tag: e for e in dom.find(**{"data-span-id": span_id})}
    assert "selected" in found["div"].classes and "selected" in found["g"].classes
    assert found["table"].text.startswith("kindstepstatussucceededstarts at")
    assert "provider kind" not in found["table"].text and "step kindfunction" in found["table"].text


def test_the_view_can_open_zoomed_in(page: Path, tmp_path: Path) -> None:
    dom = dump(page, tmp_path, fragment="#view=0,0.5")
    (label,) = dom.find(id="window")
    assert label.text == "showing 0.00 ms to 0.50 ms"


def test_a_screenshot_renders(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    browse(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,900")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
