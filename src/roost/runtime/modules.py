"""The component registry, after grafana/dskit's module manager.

Each module has a name, the modules it depends on and an init function that
builds it on the shared Container (returning an optional service to start and
stop). ``resolve(targets)`` expands group targets and orders the modules so that
every dependency starts first; stopping goes in reverse. The same registry runs
everything in one process (``roost up`` = target ``all``) or one target per process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol


class Service(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


InitFn = Callable[[Any], Awaitable["Service | None"]]


@dataclass(frozen=True)
class Module:
    name: str
    init: InitFn | None
    deps: tuple[str, ...] = ()
    # Internal modules (storage) are dependencies only, never a --target of their own.
    targetable: bool = True
    description: str = ""


@dataclass
class Registry:
    modules: dict[str, Module] = field(default_factory=dict)

    def register(self, module: Module) -> None:
        if module.name in self.modules:
            raise ValueError(f"module {module.name!r} registered twice")
        for dep in module.deps:
            if dep not in self.modules:
                raise ValueError(f"module {module.name!r} depends on unknown module {dep!r}")
        # Dependencies must already exist, so a cycle cannot be registered.
        self.modules[module.name] = module

    def targets(self) -> list[Module]:
        return [m for m in self.modules.values() if m.targetable]

    def resolve(self, targets: Iterable[str]) -> list[Module]:
        ordered: list[Module] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            module = self.modules.get(name)
            if module is None:
                raise ValueError(f"unknown target {name!r}")
            seen.add(name)
            for dep in module.deps:
                visit(dep)
            ordered.append(module)

        for target in targets:
            module = self.modules.get(target)
            if module is None or not module.targetable:
                raise ValueError(f"unknown target {target!r}")
            visit(target)
        return ordered


class Lifecycle:
    """Initialises modules in order and stops the started ones in reverse."""

    def __init__(self, modules: list[Module]) -> None:
        self.modules = modules
        self._started: list[tuple[str, Service]] = []
        self.ready: dict[str, bool] = {m.name: False for m in modules}

    async def start(self, container: Any) -> None:
        try:
            for module in self.modules:
                if module.init is not None:
                    service = await module.init(container)
                    if service is not None:
                        await service.start()
                        self._started.append((module.name, service))
                self.ready[module.name] = True
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        while self._started:
            name, service = self._started.pop()
            self.ready[name] = False
            await service.stop()
