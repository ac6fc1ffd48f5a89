"""Tables shared by every SQL store (SQLite, Postgres). Changes go through migrations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from relayscope.store.record_columns import sql_columns

metadata = MetaData()

orgs = Table(
    "orgs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(32), nullable=False),
    Column("name", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    # "admin" or "proxy" (relayscope.auth.keys.ROLES)
    Column("role", String(16), nullable=False, server_default="proxy"),
    # Virtual keys (relayscope.virtualkeys): all optional, a plain key leaves them empty.
    Column("expires_at", DateTime(timezone=True)),
    Column("scopes", JSON),
    Column("key_metadata", JSON),
    # After a rotation the old secret's hash stays valid until previous_valid_until.
    Column("previous_key_hash", String(64), index=True),
    Column("previous_valid_until", DateTime(timezone=True)),
    # Bumped by every change a cached answer must not outlive (auth.watch polls it).
    Column("revision", Integer, nullable=False, server_default="0"),
)

api_key_credentials = Table(
    "api_key_credentials",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id"), nullable=False),
    Column("key_id", String(36), ForeignKey("api_keys.id"), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("ciphertext", Text, nullable=False),
    Column("last4", String(4), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("key_id", "provider", name="uq_api_key_credentials_key_provider"),
)

requests = Table(
    "requests",
    metadata,
    # One column per LogRecord field, declared in store.record_columns.
    *sql_columns(),
    # A Helicone-Request-Id is the client's: unique within its org only.
    PrimaryKeyConstraint("org_id", "id", name="pk_requests"),
    Index("ix_requests_org_created", "org_id", "created_at", "id"),
    Index("ix_requests_org_user", "org_id", "user_id", "created_at"),
    Index("ix_requests_org_session", "org_id", "session_id", "created_at"),
    Index("ix_requests_org_model", "org_id", "request_model", "created_at"),
    Index("ix_requests_org_prompt", "org_id", "prompt_id", "prompt_version"),
    Index("ix_requests_org_response_model", "org_id", "response_model", "created_at"),
    Index("ix_requests_org_provider", "org_id", "provider", "created_at"),
    Index("ix_requests_org_status", "org_id", "status", "created_at"),
    Index("ix_requests_org_request_name", "org_id", "request_name", "created_at"),
    Index(
        "ix_requests_properties",
        "properties",
        postgresql_using="gin",
        postgresql_ops={"properties": "jsonb_path_ops"},
    ).ddl_if(dialect="postgresql"),
)

# The TTFT panel's rows: streams with a time to first token, few among all requests,
# so the index is small and costs nothing to other inserts. Without it the panel read
# every request of its range from the table.
STREAM_TTFT = "stream IS true AND ttft_ms IS NOT NULL"
Index(
    "ix_requests_org_stream_ttft",
    requests.c.org_id,
    requests.c.created_at,
    requests.c.ttft_ms,
    sqlite_where=text(STREAM_TTFT.replace("true", "1")),
    postgresql_where=text(STREAM_TTFT),
)

# ``user_id.is`` (any case) reads this, as the exact filter reads ix_requests_org_user.
Index(
    "ix_requests_org_user_lower",
    requests.c.org_id,
    func.lower(requests.c.user_id),
    requests.c.created_at,
)

SORTABLE = {"latency": "latency_ms", "cost": "cost_usd", "tokens": "total_tokens"}
"""The explorer's value sorts (``store.order.SORT_COLUMNS`` besides time)."""


def sort_key(column: str) -> ColumnElement[float]:
    """The explorer's sort key for ``column``: a missing value sorts as -1 (below any
    real one). Written with a literal so it is the very expression the indexes below
    hold, which SQLite needs to walk one of them for a page."""
    return func.coalesce(requests.c[column], literal_column("-1.0"))


for _name, _column in SORTABLE.items():
    Index(f"ix_requests_org_{_name}", requests.c.org_id, sort_key(_column), requests.c.id)

org_settings = Table(
    "org_settings",
    metadata,
    Column("org_id", String(36), ForeignKey("orgs.id"), primary_key=True),
    Column("retention_days", Integer),
)

redaction_rules = Table(
    "redaction_rules",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("value", Text, nullable=False),
    Column("replacement", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

provider_keys = Table(
    "provider_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id"), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("ciphertext", Text, nullable=False),
    Column("last4", String(4), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("org_id", "provider", name="uq_provider_keys_org_provider"),
)

cache_entries = Table(
    "cache_entries",
    metadata,
    Column("slot", String(120), primary_key=True),
    Column("org_id", String(36), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("size", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("partition", String(120)),
    Column("vector", LargeBinary),
    Index("ix_cache_entries_expires", "expires_at"),
)

prompts = Table(
    "prompts",
    metadata,
    Column("org_id", String(36), ForeignKey("orgs.id"), nullable=False),
    Column("id", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("org_id", "id"),
)

prompt_versions = Table(
    "prompt_versions",
    metadata,
    Column("org_id", String(36), nullable=False),
    Column("prompt_id", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("messages", JSON, nullable=False),
    Column("system", JSON(none_as_null=True)),
    Column("model", String(200)),
    Column("parameters", JSON, nullable=False),
    Column("template_hash", String(64), nullable=False),
    Column("note", Text),
    Column("created_by", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("org_id", "prompt_id", "version"),
    ForeignKeyConstraint(["org_id", "prompt_id"], ["prompts.org_id", "prompts.id"]),
)

prompt_labels = Table(
    "prompt_labels",
    metadata,
    Column("org_id", String(36), nullable=False),
    Column("prompt_id", String(128), nullable=False),
    Column("label", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(200)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("org_id", "prompt_id", "label"),
    ForeignKeyConstraint(
        ["org_id", "prompt_id", "version"],
        ["prompt_versions.org_id", "prompt_versions.prompt_id", "prompt_versions.version"],
    ),
)

alert_channels = Table(
    "alert_channels",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("config", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), nullable=False, index=True),
    Column("definition", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("state", String(16), nullable=False),
    Column("value", Float),
    Column("baseline", Float),
    Column("request_count", Integer),
    Column("evaluated_at", DateTime(timezone=True)),
    Column("fired_at", DateTime(timezone=True)),
    Column("changed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), nullable=False),
    Column("rule_id", String(36), nullable=False),
    Column("rule_name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", Float),
    Column("baseline", Float),
    Column("threshold", Float, nullable=False),
    Column("request_count", Integer, nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("deliveries", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_alert_events_org_created", "org_id", "created_at", "id"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("tick", BigInteger, nullable=False),
)

request_webhooks = Table(
    "request_webhooks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("include_bodies", Boolean, nullable=False),
    Column("properties", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

rate_limit_policies = Table(
    "rate_limit_policies",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("key_id", String(36), ForeignKey("api_keys.id")),
    Column("quota", Float, nullable=False),
    Column("window_seconds", Integer, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("segment", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def _rollup_totals() -> list[Column[Any]]:
    """The sums and time span a rollup row keeps (``store.rollup.Totals``)."""
    return [
        Column("requests", BigInteger, nullable=False),
        Column("errors", BigInteger, nullable=False),
        Column("rate_limited", BigInteger, nullable=False),
        Column("cache_hits", BigInteger, nullable=False),
        Column("prompt_tokens", BigInteger, nullable=False),
        Column("completion_tokens", BigInteger, nullable=False),
        Column("total_tokens", BigInteger, nullable=False),
        Column("cost_usd", Float, nullable=False),
        Column("latency_ms_sum", Float, nullable=False),
        Column("first_at", DateTime(timezone=True), nullable=False),
        Column("last_at", DateTime(timezone=True), nullable=False),
        # Prompt tokens the provider read from its prompt cache, and what the gateway's
        # cache hits would have cost at the provider (``cost_saved_usd``).
        Column("cache_read_tokens", BigInteger, nullable=False, server_default="0"),
        Column("cost_saved_usd", Float, nullable=False, server_default="0"),
    ]


# Pre-aggregated request statistics, maintained by ``store.rollup`` in the same
# transaction as each batch insert (see docs/dashboard.md). ``dim`` is "" (all
# requests), "model", "provider", "user", "prompt" (id and version) or
# "property:<name>"; ``value`` the dimension's value ("" for the total), cut to 256
# characters.
request_rollups = Table(
    "request_rollups",
    metadata,
    Column("org_id", String(36), primary_key=True),
    Column("dim", String(160), primary_key=True),
    Column("bucket", DateTime(timezone=True), primary_key=True),
    Column("value", String(256), primary_key=True),
    *_rollup_totals(),
    sqlite_with_rowid=False,
)

# ``request_rollups`` by UTC day: a range of whole days (a user's all-time totals, a
# month by user) reads one row a day and value instead of 24.
daily_rollups = Table(
    "daily_rollups",
    metadata,
    Column("org_id", String(36), primary_key=True),
    Column("dim", String(160), primary_key=True),
    Column("bucket", DateTime(timezone=True), primary_key=True),
    Column("value", String(256), primary_key=True),
    *_rollup_totals(),
    sqlite_with_rowid=False,
)

# ``request_rollups`` for the requests of one model: a request counts under each of its
# requested and answered models (the explorer's model filter matches either), so a
# model filter alone, or with one user, provider or property, and any grouping under
# it, is read from here.
model_rollups = Table(
    "model_rollups",
    metadata,
    Column("org_id", String(36), primary_key=True),
    Column("model", String(256), primary_key=True),
    Column("dim", String(160), primary_key=True),
    Column("bucket", DateTime(timezone=True), primary_key=True),
    Column("value", String(256), primary_key=True),
    *_rollup_totals(),
    sqlite_with_rowid=False,
)

# Request counts per org, hour and latency bin (bins are powers of 1.2 ms, see
# ``analytics.percentiles``): they tell exact percentile queries where to start.
latency_histogram = Table(
    "latency_histogram",
    metadata,
    Column("org_id", String(36), primary_key=True),
    Column("bucket", DateTime(timezone=True), primary_key=True),
    Column("bin", Integer, primary_key=True, autoincrement=False),
    Column("requests", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# One row per session with its running totals, maintained like ``request_rollups``.
session_rollups = Table(
    "session_rollups",
    metadata,
    Column("org_id", String(36), primary_key=True),
    Column("session_id", String(256), primary_key=True),
    Column("name", String(256)),
    Column("user_id", String(256)),
    Column("requests", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("total_tokens", BigInteger, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Index("ix_session_rollups_org_last", "org_id", "last_at"),
    sqlite_with_rowid=False,
)

# Dashboard sign-ins: the cookie carries a random token, the table its SHA-256.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id"), nullable=False),
    Column("key_id", String(36), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

# Scores and feedback on requests (``store.scores``), keyed like the request they
# belong to. No foreign key: a score may arrive before its record is written (the log
# writer is asynchronous), and records may live in another store (ClickHouse).
# Booleans are kept as 1.0 / 0.0 with ``boolean`` set, so an average is a share.
request_scores = Table(
    "request_scores",
    metadata,
    Column("org_id", String(36), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("value", Float, nullable=False),
    Column("boolean", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("org_id", "request_id", "name", name="pk_request_scores"),
    Index("ix_request_scores_org_name", "org_id", "name", "value"),
)

# Datasets (``relayscope.datasets``): request/response pairs copied from the log, each
# with an expected output the team edits. A row keeps its own copy of the messages and
# output, so it outlives the request it came from (retention, deletion).
datasets = Table(
    "datasets",
    metadata,
    Column("org_id", String(36), nullable=False),
    Column("id", String(36), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("org_id", "id", name="pk_datasets"),
)

dataset_rows = Table(
    "dataset_rows",
    metadata,
    Column("org_id", String(36), nullable=False),
    Column("id", String(36), nullable=False),
    Column("dataset_id", String(36), nullable=False),
    Column("position", Integer, nullable=False),
    Column("messages", JSON, nullable=False),
    Column("output", Text),
    Column("expected", Text),
    Column("request_id", String(64)),
    Column("model", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("org_id", "id", name="pk_dataset_rows"),
    Index("ix_dataset_rows_dataset", "org_id", "dataset_id", "position"),
)

# Experiments (``relayscope.experiments``): a dataset run against variants through the
# gateway. Each (row, variant) leaves one result naming the request it made; cost,
# latency and scores are read from that request's record, so they are the log's own.
experiments = Table(
    "experiments",
    metadata,
    Column("org_id", String(36), nullable=False),
    Column("id", String(36), nullable=False),
    Column("dataset_id", String(36), nullable=False),
    Column("name", String(200), nullable=False),
    Column("variants", JSON, nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("estimate", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("total", Integer, nullable=False),
    Column("completed", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("org_id", "id", name="pk_experiments"),
    Index("ix_experiments_org_created", "org_id", "created_at"),
)

experiment_results = Table(
    "experiment_results",
    metadata,
    Column("org_id", String(36), nullable=False),
    Column("experiment_id", String(36), nullable=False),
    Column("row_id", String(36), nullable=False),
    Column("variant", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("request_id", String(64)),
    Column("output", Text),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint(
        "org_id", "experiment_id", "row_id", "variant", name="pk_experiment_results"
    ),
)

# Evaluators (``relayscope.evaluators``): an org's checks on its requests, whose
# results are scores named after them. ``config`` is the kind's settings as the API
# shows them; the counters say how its evaluations went (across replicas).
evaluators = Table(
    "evaluators",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("config", JSON, nullable=False),
    Column("sample_rate", Float, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("scored", BigInteger, nullable=False),
    Column("failed", BigInteger, nullable=False),
    Column("last_error", Text),
    Column("last_error_at", DateTime(timezone=True)),
    UniqueConstraint("org_id", "name", name="uq_evaluators_org_name"),
)

# The audit log (``relayscope.audit``): every admin change made through the API or a
# dashboard form, allowed or refused. ``detail`` is the request body, secrets masked.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_key_id", String(36), nullable=False),
    Column("actor_name", String(200)),
    Column("actor_role", String(16), nullable=False),
    Column("via", String(16), nullable=False),
    Column("client", String(64)),
    Column("method", String(8), nullable=False),
    Column("path", String(500), nullable=False),
    Column("status", Integer, nullable=False),
    Column("detail", JSON),
    Index("ix_audit_log_org_at", "org_id", "at"),
)

# Spend control (``relayscope.budgets``): teams of an org, the gateway keys each team
# holds, budgets at the org, team, user or key level, and the soft-limit alerts
# already sent (one row per budget, period and threshold, so replicas send it once).
teams = Table(
    "teams",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("org_id", "name", name="uq_teams_org_name"),
)

team_keys = Table(
    "team_keys",
    metadata,
    Column("key_id", String(36), ForeignKey("api_keys.id"), primary_key=True),
    Column("team_id", String(36), ForeignKey("teams.id"), nullable=False, index=True),
    Column("org_id", String(36), nullable=False),
)

budgets = Table(
    "budgets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("level", String(8), nullable=False),
    Column("target", String(256)),
    Column("usd_limit", Float),
    Column("token_limit", BigInteger),
    Column("period", String(8), nullable=False),
    Column("reset", String(8), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

budget_alerts = Table(
    "budget_alerts",
    metadata,
    Column("budget_id", String(36), nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("org_id", String(36), nullable=False),
    Column("spent_usd", Float),
    Column("spent_tokens", BigInteger),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("budget_id", "period_start", "threshold", name="pk_budget_alerts"),
)
