"""The container's typed accessors: the component when it runs in this process, else a clear error."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from roost.runtime import container as container_mod
from roost.runtime.container import Container
from roost.services.accounts import AccountsService
from roost.settings import Settings


def test_a_component_that_is_not_running_gives_a_clear_error() -> None:
    container = Container(settings=Settings())
    for accessor, name in (("storage", "backends"), ("accounts_service", "accounts"),
                           ("statuses_service", "statuses"), ("timelines_service", "timelines"),
                           ("search_service", "search"), ("outbox_service", "outbox")):
        with pytest.raises(RuntimeError, match=f"component '{name}' is not running in this process"):
            getattr(container, accessor)


def test_a_process_serving_one_target_has_only_its_components(tmp_path: Path) -> None:
    async def body() -> None:
        container = await container_mod.start(Settings(data_dir=tmp_path), ("accounts",))
        try:
            assert isinstance(container.accounts_service, AccountsService)
            assert container.storage.settings.data_dir == tmp_path
            with pytest.raises(RuntimeError, match="'timelines' is not running"):
                _ = container.timelines_service
        finally:
            await container_mod.stop(container)

    asyncio.run(body())
