"""Prompt settings come from RELAYSCOPE_PROMPTS_*; switched off, the stage is not in the chain."""

from __future__ import annotations

import pytest

from relayscope.config import Settings, reference
from relayscope.logs.spool import Spool
from relayscope.logs.writer import LogWriter
from relayscope.pipeline import Services, default_stages
from relayscope.prompts.catalog import PromptCatalog
from relayscope.prompts.repository import PromptRepository
from relayscope.prompts.stage import PromptStage
from relayscope.store.sql import SqlStore


def test_settings_are_read_from_the_environment_and_documented():
    settings = Settings.from_env(
        {"RELAYSCOPE_PROMPTS_ENABLED": "false", "RELAYSCOPE_PROMPTS_CACHE_TTL": "0.5"}
    )
    assert (settings.prompts.enabled, settings.prompts.cache_ttl) == (False, 0.5)
    assert Settings.from_env({}).prompts.enabled is True
    documented = {name: help for name, _default, help in reference()}
    for name in ("ENABLED", "CACHE_TTL", "CACHE_MAX_ENTRIES"):
        assert documented[f"RELAYSCOPE_PROMPTS_{name}"]


@pytest.mark.parametrize("enabled", [True, False])
async def test_the_stage_sits_right_inside_logging_only_when_enabled(tmp_path, enabled):
    store = SqlStore(f"sqlite:///{tmp_path}/db")
    try:
        services = Services(
            store=store,
            writer=LogWriter(store, Spool(tmp_path / "spool")),
            prompts=PromptCatalog(PromptRepository(store.database)),
        )
        settings = Settings.from_env({"RELAYSCOPE_PROMPTS_ENABLED": str(enabled).lower()})
        stages = default_stages(settings, services)
    finally:
        await store.close()
    kinds = [type(stage) for stage in stages]
    assert (PromptStage in kinds) is enabled
    if enabled:
        assert kinds.index(PromptStage) == 1
