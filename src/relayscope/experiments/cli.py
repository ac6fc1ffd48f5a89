"""``relayscope experiments``: estimate and run an experiment on a running gateway.

An experiment's requests go through the gateway, so these commands call its API
(``--url``, ``--key`` or ``RELAYSCOPE_URL`` / ``RELAYSCOPE_KEY``, an admin key):
``estimate`` makes a draft and prints its cost estimate; ``run`` does the same, asks
to confirm it (``--yes`` skips the question), starts it and follows its progress.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click
import httpx

POLL_SECONDS = 0.5


def _variant(text: str) -> dict[str, Any]:
    """``NAME=MODEL[,param=value...]``, as in ``mini=gpt-4o-mini,temperature=0.2``."""
    head, *params = text.split(",")
    name, sep, model = head.partition("=")
    if not sep or not name or not model:
        raise click.BadParameter(f"{text!r}: write NAME=MODEL[,temperature=0.2,...]")
    parameters: dict[str, float] = {}
    for param in params:
        key, sep, value = param.partition("=")
        try:
            if not sep:
                raise ValueError(param)
            parameters[key.strip()] = float(value)
        except ValueError:
            raise click.BadParameter(f"{param!r}: parameters are name=number") from None
    variant: dict[str, Any] = {"name": name.strip(), "model": model.strip()}
    if parameters:
        variant["parameters"] = {
            k: int(v) if v.is_integer() and k in ("max_tokens", "seed") else v
            for k, v in parameters.items()
        }
    return variant


def _client(url: str, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {key}"}, timeout=60
    )


def _answer(response: httpx.Response) -> dict[str, Any]:
    body = response.json() if response.content else {}
    if response.status_code >= 400:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        raise click.ClickException(f"{response.status_code}: {error.get('message', response.text)}")
    data: dict[str, Any] = body["data"]
    return data


def _draft(
    client: httpx.Client,
    name: str,
    dataset: str,
    variants: tuple[str, ...],
    concurrency: int,
    output_tokens: int,
) -> dict[str, Any]:
    return _answer(
        client.post(
            "/api/experiments",
            json={
                "name": name,
                "dataset_id": dataset,
                "variants": [_variant(v) for v in variants],
                "concurrency": concurrency,
                "assumed_output_tokens": output_tokens,
            },
        )
    )


def _show_estimate(experiment: dict[str, Any]) -> None:
    est = experiment["estimate"]
    click.echo(f"experiment {experiment['id']} ({experiment['name']}): {est['requests']} requests")
    click.echo(
        f"input tokens {est['input_tokens']} ({est['tokenizer']}); "
        f"assumed output {est['assumed_output_tokens_per_request']} tokens per request"
    )
    for variant in est["variants"]:
        cost = variant["cost_usd"]
        shown = f"${cost:.6f}" if cost is not None else "no price known"
        click.echo(f"  {variant['name']:<20} {', '.join(variant['models']):<30} {shown}")
    click.echo(f"estimated total: ${est['total_cost_usd']:.6f}")
    if est["unpriced_models"]:
        click.echo(f"no price for: {', '.join(est['unpriced_models'])}")


def _common(command: Any) -> Any:
    options = [
        click.option(
            "--url",
            envvar="RELAYSCOPE_URL",
            default="http://127.0.0.1:8787",
            show_default=True,
            help="The gateway.",
        ),
        click.option("--key", envvar="RELAYSCOPE_KEY", required=True, help="An admin gateway key."),
        click.option("--dataset", required=True, help="The dataset's id."),
        click.option(
            "--variant",
            "variants",
            multiple=True,
            required=True,
            help="NAME=MODEL[,temperature=0.2,...]; repeat per variant.",
        ),
        click.option("--name", default="experiment", show_default=True),
        click.option("--concurrency", default=2, show_default=True, type=click.IntRange(1, 16)),
        click.option(
            "--assumed-output-tokens",
            "output_tokens",
            default=256,
            show_default=True,
            type=click.IntRange(1),
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group()
def experiments() -> None:
    """Run datasets against model and parameter variants through the gateway."""


@experiments.command("estimate")
@_common
def estimate(
    url: str,
    key: str,
    dataset: str,
    variants: tuple[str, ...],
    name: str,
    concurrency: int,
    output_tokens: int,
) -> None:
    """Make a draft experiment and print its cost estimate (nothing is sent upstream)."""
    with _client(url, key) as client:
        _show_estimate(_draft(client, name, dataset, variants, concurrency, output_tokens))


@experiments.command("run")
@_common
@click.option("--yes", is_flag=True, help="Run without asking to confirm the estimate.")
def run(
    url: str,
    key: str,
    dataset: str,
    variants: tuple[str, ...],
    name: str,
    concurrency: int,
    output_tokens: int,
    yes: bool,
) -> None:
    """Estimate, confirm, run, and print the summary with the best variant per metric."""
    with _client(url, key) as client:
        draft = _draft(client, name, dataset, variants, concurrency, output_tokens)
        _show_estimate(draft)
        if not yes and not click.confirm("Run it?", default=False):
            raise click.ClickException(f"not run; the draft {draft['id']} stays")
        _answer(client.post(f"/api/experiments/{draft['id']}/start"))
        while True:
            current = _answer(client.get(f"/api/experiments/{draft['id']}"))
            progress = current["progress"]
            click.echo(
                f"\r{progress['done']}/{progress['total']} done, {progress['failed']} failed",
                nl=False,
                err=True,
            )
            if current["status"] != "running":
                break
            time.sleep(POLL_SECONDS)
        click.echo("", err=True)
        comparison = _answer(client.get(f"/api/experiments/{draft['id']}/comparison"))
        click.echo(
            json.dumps(
                {
                    "status": current["status"],
                    "summary": comparison["summary"],
                    "best": comparison["best"],
                },
                indent=2,
            )
        )
