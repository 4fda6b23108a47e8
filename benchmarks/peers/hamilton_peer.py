"""Hamilton (sf-hamilton): the workloads as generated modules, run by its two drivers.

Hamilton wires a DAG from function names and parameter names, so each workload is the
source of a module with one function per node, loaded with
``hamilton.ad_hoc_utils.module_from_source``. The driver is built once per workload (the
graph is built then); each run is one ``driver.execute(final_vars, inputs=...)``. The
sync driver runs plain functions, one after the other (the I/O leaves sleep with
``time.sleep``); the async driver runs ``async def`` functions on asyncio (the leaves
await ``asyncio.sleep``). Hamilton's usage telemetry is turned off.
"""

from __future__ import annotations

import os

os.environ["HAMILTON_TELEMETRY_ENABLED"] = "false"

from importlib.metadata import version
from typing import Any

import _harness
from hamilton import ad_hoc_utils, async_driver, driver


def source(workload: str, steps: int, sleep: float, *, is_async: bool) -> tuple[str, list[str]]:
    """A module's source for ``workload``, and the nodes whose values the run asks for."""
    define = "async def" if is_async else "def"
    if workload == "chain":
        lines = [f"{define} s0(x: int) -> int:\n    return x + 1\n"]
        lines += [f"{define} s{i}(s{i - 1}: int) -> int:\n    return s{i - 1} + 1\n"
                  for i in range(1, steps)]  # fmt: skip
        return "\n".join(lines), [f"s{steps - 1}"]
    if workload == "fanout":
        leaves = [f"f{i}" for i in range(steps)]
        lines = [f"{define} source(x: int) -> int:\n    return x\n"]
        lines += [f"{define} f{i}(source: int) -> int:\n    return source + {i}\n"
                  for i in range(steps)]  # fmt: skip
        params = ", ".join(f"{leaf}: int" for leaf in leaves)
        lines.append(f"{define} sink({params}) -> int:\n    return sum(({', '.join(leaves)},))\n")
        return "\n".join(lines), ["sink"]
    wait = f"await asyncio.sleep({sleep})" if is_async else f"time.sleep({sleep})"
    lines = ["import asyncio\nimport time\n"]
    lines += [f"{define} io{i}() -> int:\n    {wait}\n    return {i}\n" for i in range(steps)]
    return "\n".join(lines), [f"io{i}" for i in range(steps)]


def answer(workload: str, found: dict[str, Any], final: list[str]) -> Any:
    if workload == "io":
        return [found[name] for name in final]
    return found[final[0]]


def build_sync(workload: str, steps: int, sleep: float) -> Any:
    code, final = source(workload, steps, sleep, is_async=False)
    module = ad_hoc_utils.module_from_source(code, f"peer_sync_{workload}")
    dr = driver.Builder().with_modules(module).build()
    return lambda: answer(workload, dr.execute(final, inputs={"x": 1}), final)


async def build_async(workload: str, steps: int, sleep: float) -> Any:
    code, final = source(workload, steps, sleep, is_async=True)
    module = ad_hoc_utils.module_from_source(code, f"peer_async_{workload}")
    dr = await async_driver.Builder().with_modules(module).build()

    async def run() -> Any:
        return answer(workload, await dr.execute(final, inputs={"x": 1}), final)

    return run


def main() -> None:
    given = _harness.plan()
    variants = {
        "sync": _harness.run_sync(given, build_sync),
        "async": _harness.run_async(given, build_async),
    }
    _harness.emit(version("sf-hamilton"), variants)


if __name__ == "__main__":
    main()
