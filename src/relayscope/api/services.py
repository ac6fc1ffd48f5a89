"""What the API's routes read: one typed object, ``request.app.state.services``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from starlette.requests import Request

from relayscope.auth.keys import KeyResolver
from relayscope.errors import NotFound
from relayscope.store.base import LogStore, Store

if TYPE_CHECKING:
    from relayscope.alerts.service import AlertsService
    from relayscope.cache.stats import CacheStats
    from relayscope.evaluators.service import Evaluators
    from relayscope.experiments.runner import ExperimentRunner
    from relayscope.governance.service import Governance
    from relayscope.logs.deadletters import DeadLetters
    from relayscope.logs.writer import LogWriter
    from relayscope.prompts.catalog import PromptCatalog
    from relayscope.retry.provider_keys import ProviderKeys
    from relayscope.virtualkeys.repository import VirtualKeys

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ApiServices:
    """The gateway's parts the API serves; a feature left as None answers 404."""

    store: Store
    keys: KeyResolver
    logs: LogStore
    """Where request records live: the store, or ClickHouse (``RELAYSCOPE_LOGS_URL``)."""
    governance: Governance | None = None
    provider_keys: ProviderKeys | None = None
    cache_stats: CacheStats | None = None
    prompts: PromptCatalog | None = None
    alerts: AlertsService | None = None
    """Alert rules, and the webhooks they notify."""
    dead_letters: DeadLetters | None = None
    writer: LogWriter | None = None
    """This process's log writer: a score for a record it still holds flushes it."""
    experiments: ExperimentRunner | None = None
    """Runs experiments through this gateway's own proxy."""
    evaluators: Evaluators | None = None
    budgets_changed: Callable[[], None] | None = None
    """Tells this process's budget stage that teams or budgets changed (None: no stage)."""
    virtual_keys: VirtualKeys | None = None
    """Gateway keys with their scopes and credentials (``/api/keys``)."""


def api_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


def available(service: T | None, what: str) -> T:
    """``service``, or a 404 naming ``what`` when this gateway was built without it."""
    if service is None:
        raise NotFound(f"{what} are not available on this gateway")
    return service
