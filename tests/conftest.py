"""Shared fixtures: the fake provider, a gateway (in this process, or as a real process
for what only a process shows), per-test orgs, and stores.

Every test that uses a store runs once per backend (SQLite, Postgres): the
session-wide ``store_backend`` parameter reaches it through ``gateway``,
``store_urls`` or ``store_url``. ``--stores sqlite`` (or ``postgres``) runs one.

Markers (``-m "not e2e"`` and so on) are set here from what a test uses: ``e2e`` when
one of its fixtures starts a gateway process (every such fixture requests
``e2e_process``; a test that starts one itself carries the mark), ``postgres`` when it
runs on a Postgres store.

A test (or module) marked ``any_store`` shows what does not depend on the store (how a
page renders, say) and runs on the first chosen backend only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from relayscope.logs import price
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.engines import ENGINES, backend_of, gateway_on_engine
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.orgs import OrgKey, create_org, wait_for_record
from relayscope.testing.postgres import ADMIN_URL, PostgresDatabases
from relayscope.testing.process import GatewayProcess, fake_provider_env
from relayscope.testing.replicas import Replicas
from relayscope.testing.stores import BACKENDS, StoreUrls


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--stores",
        default=",".join(BACKENDS),
        help="Comma-separated store backends to run store-using tests on (default: all).",
    )


POSTGRES_FIXTURES = frozenset({"postgres_databases", "postgres_url", "postgres_db"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "e2e_process" in fixtures:
            item.add_marker(pytest.mark.e2e)
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and "postgres" in callspec.params.values()
        if on_postgres or fixtures & POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def e2e_process() -> None:
    """Requested by every fixture that starts a gateway process, so that the tests using
    it are marked ``e2e``."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_backend" in metafunc.fixturenames:
        chosen = [b.strip() for b in metafunc.config.getoption("stores").split(",") if b.strip()]
        if metafunc.definition.get_closest_marker("any_store"):
            chosen = chosen[:1]
        metafunc.parametrize("store_backend", chosen, indirect=True, scope="session")


class Gateway:
    """A running gateway as the tests see it: its URL, its store, and its API."""

    def __init__(self, process: GatewayProcess) -> None:
        self.process = process
        self.url = process.url
        self.database_url = process.database_url

    def new_org(self, name: str | None = None) -> OrgKey:
        return create_org(self.database_url, name)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.process.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.process.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.process.post(path, **kwargs)

    def api(self, org: OrgKey) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=org.bearer, timeout=10)

    def record(self, org: OrgKey, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
        return wait_for_record(self, org, request_id, timeout)


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    if not databases.available():
        pytest.skip(f"no Postgres server answers at {ADMIN_URL} (RELAYSCOPE_TEST_POSTGRES_URL)")
    databases.drop_orphans()
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def store_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def store_urls(store_backend: str, request: pytest.FixtureRequest) -> StoreUrls:
    """Fresh stores of this run's backend, for tests and fixtures that start their own gateways."""
    if store_backend == "postgres":
        return StoreUrls("postgres", request.getfixturevalue("postgres_databases"))
    return StoreUrls(store_backend)


@pytest.fixture
def store_url(store_urls: StoreUrls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new empty store (SQLite file or Postgres database), dropped after the test."""
    url = store_urls.new(tmp_path_factory.mktemp("store"))
    yield url
    store_urls.discard(url)


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeProvider) -> Iterator[FakeProvider]:
    fake_server.reset()
    yield fake_server
    fake_server.reset()


class GatewayPool:
    """One gateway process per store backend, each kept until the session ends (under
    pytest-xdist a worker's files alternate between the backends, and a gateway owned
    by the parametrized fixture would be stopped and started again at every switch);
    and one store per backend for the in-process gateways, made once."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, fake_url: str) -> None:
        self._tmp_path_factory = tmp_path_factory
        self._fake_url = fake_url
        self._started: dict[str, Gateway] = {}
        self._in_process_env: dict[str, tuple[Path, dict[str, str]]] = {}
        self._processes = ExitStack()

    def get(self, store_urls: StoreUrls) -> Gateway:
        if store_urls.backend not in self._started:
            data_dir = self._tmp_path_factory.mktemp("gateway")
            process = self._processes.enter_context(
                GatewayProcess(data_dir, self._env(store_urls, data_dir))
            )
            self._started[store_urls.backend] = Gateway(process)
        return self._started[store_urls.backend]

    def in_process(self, store_urls: StoreUrls) -> AsgiGateway:
        """A new in-process gateway on this backend's session store (made and migrated
        once; orgs keep tests apart). It is the caller's to start and stop."""
        if store_urls.backend not in self._in_process_env:
            data_dir = self._tmp_path_factory.mktemp("asgi-gateway")
            self._in_process_env[store_urls.backend] = (data_dir, self._env(store_urls, data_dir))
        data_dir, env = self._in_process_env[store_urls.backend]
        return AsgiGateway(data_dir, env)

    def _env(self, store_urls: StoreUrls, data_dir: Path) -> dict[str, str]:
        return {
            **fake_provider_env(self._fake_url),
            "RELAYSCOPE_DATABASE_URL": store_urls.new(data_dir),
        }

    def close(self) -> None:
        self._processes.close()


@pytest.fixture(scope="session")
def gateway_pool(
    tmp_path_factory: pytest.TempPathFactory, fake_server: FakeProvider
) -> Iterator[GatewayPool]:
    pool = GatewayPool(tmp_path_factory, fake_server.url)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def gateway(gateway_pool: GatewayPool, store_urls: StoreUrls) -> Iterator[AsgiGateway]:
    """A gateway of this backend in this process, for one test module: reached through
    ``gateway.http()``, ``gateway.api(org)`` or, for the SDKs, ``gateway.sdk_http()``.
    It stops with its module, so none of its background tasks (or its share of the
    process-wide metrics) outlives the module into another's."""
    with gateway_pool.in_process(store_urls) as gateway:
        yield gateway


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """A log engine: SQLite, Postgres or ClickHouse (for ``engine_gateway``)."""
    chosen: str = request.param
    if backend_of(chosen) not in request.config.getoption("stores").split(","):
        pytest.skip(f"--stores leaves out {backend_of(chosen)}")
    return chosen


@pytest.fixture(scope="module")
def engine_gateway(
    engine: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AsgiGateway]:
    """An in-process gateway logging to ``engine``, one per engine for the module: for
    tests whose behaviour is the engine's and which only read what the module's
    fixtures wrote (a test that writes uses an org of its own)."""
    on_postgres = backend_of(engine) == "postgres"
    postgres = request.getfixturevalue("postgres_databases") if on_postgres else None
    with gateway_on_engine(engine, tmp_path_factory.mktemp(f"engine-{engine}"), postgres) as gw:
        yield gw


@pytest.fixture(scope="session")
def gateway_process(gateway_pool: GatewayPool, store_urls: StoreUrls, e2e_process: None) -> Gateway:
    """The session's gateway process of this backend, for tests of what only a process
    shows (real sockets, the server's own HTTP handling, its log)."""
    return gateway_pool.get(store_urls)


@pytest.fixture
def org(gateway: Gateway) -> OrgKey:
    return gateway.new_org()


@pytest.fixture
def replicas(
    tmp_path_factory: pytest.TempPathFactory,
    fake_server: FakeProvider,
    postgres_databases: PostgresDatabases,
    e2e_process: None,
) -> Iterator[Callable[..., Replicas]]:
    """Starts gateway replicas sharing a new Postgres database and a Redis prefix:
    ``replicas(count=2, env={...})``. All are stopped, and their keys and database
    removed, after the test."""
    started: list[Replicas] = []

    def start(count: int = 2, env: Mapping[str, str] | None = None) -> Replicas:
        group = Replicas(
            tmp_path_factory.mktemp("replicas"),
            store_url=postgres_databases.create(),
            env={**fake_provider_env(fake_server.url), **(env or {})},
            count=count,
        )
        started.append(group)
        return group.start()

    yield start
    for group in started:
        group.stop()
        postgres_databases.drop(group.store_url)


@pytest.fixture
def pricing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread each pricing ran on (genai-prices, through ``logs.price``)."""
    threads: list[str] = []
    real = price.cost_usd

    def counted(*args: Any, **kwargs: Any) -> float | None:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(price, "cost_usd", counted)
    return threads
