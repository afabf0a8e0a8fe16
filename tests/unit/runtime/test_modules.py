"""The component registry: dependencies, topological order, group targets, lifecycle."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from roost.runtime.container import build_registry
from roost.runtime.modules import Lifecycle, Module, Registry


def small_registry() -> Registry:
    r = Registry()
    r.register(Module("storage", None, targetable=False))
    r.register(Module("a", None, ("storage",)))
    r.register(Module("b", None, ("a",)))
    r.register(Module("c", None, ("storage",)))
    r.register(Module("group", None, ("b", "c")))
    return r


def test_unknown_dependency_is_rejected() -> None:
    r = Registry()
    with pytest.raises(ValueError, match="unknown module 'nope'"):
        r.register(Module("x", None, ("nope",)))
    assert "x" not in r.modules


def test_duplicate_module_is_rejected() -> None:
    r = small_registry()
    with pytest.raises(ValueError, match="registered twice"):
        r.register(Module("a", None))


def test_resolve_orders_dependencies_first_without_repeats() -> None:
    names = [m.name for m in small_registry().resolve(["b"])]
    assert names == ["storage", "a", "b"]


def test_group_target_expands_to_its_members() -> None:
    names = [m.name for m in small_registry().resolve(["group"])]
    assert names == ["storage", "a", "b", "c", "group"]
    names = [m.name for m in small_registry().resolve(["c", "group"])]
    assert names == ["storage", "c", "a", "b", "group"]


@pytest.mark.parametrize("target", ["nope", "storage", ""])
def test_unknown_or_internal_target_is_an_error(target: str) -> None:
    with pytest.raises(ValueError, match="unknown target"):
        small_registry().resolve([target])


def test_targets_lists_only_targetable_modules() -> None:
    assert [m.name for m in small_registry().targets()] == ["a", "b", "c", "group"]


def test_the_real_registry_resolves_every_target_in_dependency_order() -> None:
    registry = build_registry()
    for target in registry.targets():
        order = [m.name for m in registry.resolve([target.name])]
        assert len(order) == len(set(order))
        assert order[-1] == target.name
        for position, name in enumerate(order):
            for dep in registry.modules[name].deps:
                assert order.index(dep) < position, (target.name, name, dep)
    everything = {m.name for m in registry.resolve(["all"])}
    assert everything == set(registry.modules)
    workers = [m.name for m in registry.resolve(["workers"])]
    assert {"fanout-worker", "notifier-worker", "indexer-worker", "relations-worker"} <= set(workers)
    assert "gateway" not in workers
    assert workers[0] == "storage"


class Recorder:
    def __init__(self, log: list[str], name: str, fail: bool = False) -> None:
        self.log, self.name, self.fail = log, name, fail

    async def start(self) -> None:
        if self.fail:
            raise RuntimeError(self.name)
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")


def modules(log: list[str], failing: str | None = None) -> list[Module]:
    def init(name: str) -> Any:
        async def fn(container: Any) -> Recorder:
            log.append(f"init {name}")
            return Recorder(log, name, fail=name == failing)

        return fn

    return [Module("x", init("x")), Module("y", init("y"), ("x",)), Module("g", None, ("y",)),
            Module("z", init("z"), ("y",))]


def test_lifecycle_starts_in_order_and_stops_in_reverse() -> None:
    log: list[str] = []
    lifecycle = Lifecycle(modules(log))

    async def body() -> None:
        await lifecycle.start(object())
        assert all(lifecycle.ready.values())
        await lifecycle.stop()

    asyncio.run(body())
    assert log == ["init x", "start x", "init y", "start y", "init z", "start z", "stop z", "stop y", "stop x"]
    assert lifecycle.ready == {"x": False, "y": False, "g": True, "z": False}


def test_lifecycle_stops_what_started_when_a_start_fails() -> None:
    log: list[str] = []
    lifecycle = Lifecycle(modules(log, failing="z"))
    with pytest.raises(RuntimeError, match="z"):
        asyncio.run(lifecycle.start(object()))
    assert log == ["init x", "start x", "init y", "start y", "init z", "stop y", "stop x"]
    assert lifecycle.ready["z"] is False
