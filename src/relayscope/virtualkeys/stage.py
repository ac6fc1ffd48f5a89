"""The virtual-key stage: a virtual key's request is checked against the key's scopes,
then carries the key's stored credential for the provider it goes to.

It runs inside the logging stage, so a refusal is answered with an OpenAI-style error
and still logged, and after the prompt stage, so the model and token limit checked
are those sent. Requests of keys without settings skip it (``applies``). Fallbacks
are checked, and given their provider's credential, by the retry stage
(``retry.plan.prepare``), since only it knows which provider each attempt goes to.

A client-sent provider key is replaced by the key's stored one for that provider
(Helicone's vault does the same with its proxy keys); for a provider the key holds
no credential for, the client's own goes through, except a gateway key sent as one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from relayscope.auth.keys import KEY_PREFIX
from relayscope.context import Context, ProxyResponse
from relayscope.retry.plan import CREDENTIAL_HEADERS, credential_header, key_credential
from relayscope.types import CallNext, Stage

if TYPE_CHECKING:
    from relayscope.config import Settings
    from relayscope.pipeline import Services

Clock = Callable[[], float]
"""Epoch seconds (``time.time``); tests give their own."""

_GATEWAY_KEY = KEY_PREFIX.encode()


class VirtualKeyStage(Stage):
    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock

    def applies(self, ctx: Context) -> bool:
        return ctx.key is not None

    async def __call__(self, ctx: Context, call_next: CallNext) -> ProxyResponse:
        policy = ctx.key
        assert policy is not None
        refusal = (
            policy.time_refusal(self._clock())
            or policy.address_refusal(ctx.client)
            or policy.provider_refusal(ctx.target.provider_name)
            or policy.model_refusal(ctx.model)
            or policy.tokens_refusal(ctx.json)
        )
        if refusal is not None:
            raise refusal
        stored = key_credential(policy, ctx.target)
        if stored is not None:
            headers = [h for h in ctx.headers if h[0] not in CREDENTIAL_HEADERS]
            headers.append(credential_header(ctx.target, stored))
        else:
            headers = [
                (name, value)
                for name, value in ctx.headers
                if not (name in CREDENTIAL_HEADERS and _GATEWAY_KEY in value)
            ]
        ctx.headers = headers
        return await call_next(ctx)


def build(settings: Settings, services: Services) -> VirtualKeyStage:
    return VirtualKeyStage(services.clock)
