"""Alert and request-webhook settings, read from ``RELAYSCOPE_ALERTS_*``."""

from __future__ import annotations

from dataclasses import dataclass

from relayscope.config import setting

MASK = "********"


class Secret(str):
    """A string that prints as ``********`` (in reprs, logs and ``relayscope config``)."""

    def __repr__(self) -> str:
        return repr(MASK) if self else "''"

    def __str__(self) -> str:
        return MASK if self else ""

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def reveal(self) -> str:
        """The real value, for the one place that needs it."""
        return str.__str__(self)


@dataclass(frozen=True, kw_only=True)
class AlertsSettings:
    enabled: bool = setting(True, "Run the alert evaluator in this gateway process.")
    interval: float = setting(60.0, "Seconds between alert evaluations.")
    lease_ttl: float = setting(
        0.0,
        "Seconds a replica keeps the evaluator lease without renewing it "
        "(0: three evaluation intervals).",
    )
    allow_private_targets: bool = setting(
        False,
        "Allow webhook, Slack and request-webhook URLs on loopback, private or "
        "link-local addresses.",
    )
    delivery_timeout: float = setting(10.0, "Seconds one outbound webhook POST may take.")
    delivery_attempts: int = setting(
        5, "Attempts per outbound notification or request webhook before giving up."
    )
    delivery_backoff: float = setting(
        1.0, "Seconds before the first retry of a failed delivery; doubles each time (max 60)."
    )
    request_webhooks: bool = setting(True, "Send request webhooks (POST each logged record).")
    webhook_queue_size: int = setting(
        10_000, "Request-webhook deliveries held in memory; beyond it new ones are dropped."
    )
    webhook_cache_ttl: float = setting(
        10.0, "Seconds the list of request webhooks is cached (changes via other replicas)."
    )
    smtp_host: str = setting("", "SMTP server for email alert channels (unset: no email).")
    smtp_port: int = setting(587, "SMTP server port.")
    smtp_starttls: bool = setting(True, "Upgrade the SMTP connection with STARTTLS (required).")
    smtp_ca_file: str = setting(
        "",
        "PEM file of the CAs to trust for the SMTP server's certificate (default: the system's).",
    )
    smtp_username: str = setting("", "SMTP user name (unset: no login).")
    smtp_password: str = setting("", "SMTP password.")
    smtp_from: str = setting("relayscope@localhost", "Sender address of alert emails.")
    smtp_timeout: float = setting(30.0, "Seconds an SMTP conversation may take.")

    def __post_init__(self) -> None:
        object.__setattr__(self, "smtp_password", Secret(self.smtp_password))

    @property
    def effective_lease_ttl(self) -> float:
        return self.lease_ttl or 3 * self.interval
