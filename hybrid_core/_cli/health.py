"""The engines' own health checks, as ``hybrid doctor`` runs them.

Every engine with a ``health_check`` is asked at once, within one time limit. A check may
be sync or async: a sync one runs in a daemon thread of its own, so a check that never
returns costs the command its time limit and no more, and cannot hold the process open
at exit. The answer is "ok" for a truthy result, otherwise what went wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .._core.records import Engine, ProviderKind
from .._system import Hybrid

__all__ = ["HEALTH_TIMEOUT", "engine_health", "summary"]

HEALTH_TIMEOUT = 5.0  # seconds every check together may take, unless --health-timeout


def engine_health(system: Hybrid, timeout: float) -> tuple[dict[str, str], list[str]]:
    """Each checked engine's answer by name, and one problem per engine not "ok"."""
    engines = [
        p.target
        for p in system.registry.of_kind(ProviderKind.ENGINE)
        if isinstance(p.target, Engine) and p.target.health_check is not None
    ]
    if not engines:
        return {}, []
    answers = system._sync(lambda: _ask_all(engines, timeout))
    problems = [
        f"engine {name!r}: its health check {answer}"
        for name, answer in answers.items()
        if answer != "ok"
    ]
    return answers, problems


async def _ask_all(engines: list[Engine], timeout: float) -> dict[str, str]:
    tasks = {e.name: asyncio.ensure_future(_ask(e.health_check)) for e in engines}  # type: ignore[arg-type]
    _, pending = await asyncio.wait(tasks.values(), timeout=timeout)
    for task in pending:
        task.cancel()
    return {name: _answer(task, task in pending, timeout) for name, task in tasks.items()}


def _answer(task: asyncio.Future[Any], late: bool, timeout: float) -> str:
    if late:
        return f"did not answer within {timeout:g} s (--health-timeout sets the limit)"
    error = task.exception()
    if error is not None:
        return f"failed ({type(error).__name__}: {error})"
    value = task.result()
    return "ok" if value else f"answered {_short(value)} (a healthy engine answers truthy)"


async def _ask(check: Callable[[], Any]) -> Any:
    if inspect.iscoroutinefunction(check):
        return await check()
    value = await _in_daemon_thread(check)
    if inspect.isawaitable(value):  # a plain function that returned a coroutine
        value = await value
    return value


def _in_daemon_thread(fn: Callable[[], Any]) -> asyncio.Future[Any]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():  # given up on: past the time limit
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def work() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (fn(), None)
        except Exception as exc:  # noqa: BLE001 - the check's failure is its answer
            outcome = (None, exc)
        with contextlib.suppress(RuntimeError):  # the command finished and closed its loop
            loop.call_soon_threadsafe(settle, *outcome)

    name = getattr(fn, "__qualname__", "check")
    threading.Thread(target=work, name=f"hybrid-health-{name}", daemon=True).start()
    return future


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def summary(answers: Mapping[str, str]) -> str:
    """``3 checked, 2 ok`` for the report's text form."""
    ok = sum(1 for a in answers.values() if a == "ok")
    return f"{len(answers)} checked, {ok} ok"
