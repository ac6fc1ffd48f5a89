"""The prompt stage: fills a stored or inline template named by ``Helicone-Prompt-Id``.

It runs right inside the logging stage, so rate limits, the cache and the provider
see the filled body while the log keeps what the client sent (``client_body``) plus
the prompt id, version and variables.

Inline registration is the only write: the first request that carries a new inline
template awaits one insert through the async engine (the event loop keeps serving
other requests meanwhile); every later request with the same template is answered
from the in-memory head without touching the database. Doing it inline, rather than
in a background task, is what lets the log record name the version it produced.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.exc import SQLAlchemyError

from relayscope.context import Context, ProxyResponse
from relayscope.errors import BadRequest, InvalidHeader, ServiceUnavailable
from relayscope.prompts.assemble import apply_inline, assemble, inline_template
from relayscope.prompts.catalog import PromptCatalog
from relayscope.prompts.errors import PromptNotFound
from relayscope.prompts.outcome import PromptOutcome
from relayscope.prompts.spec import MAX_VERSION, PROMPT_ID, SpecError, check_selector
from relayscope.prompts.template import MissingVariables, Template
from relayscope.types import CallNext, Stage

if TYPE_CHECKING:
    from relayscope.config import Settings
    from relayscope.pipeline import Services

log = logging.getLogger("relayscope.prompts")

ID_HEADER = "Helicone-Prompt-Id"
VARIABLES_HEADER = "Helicone-Prompt-Variables"
VERSION_HEADER = "Helicone-Prompt-Version"
_ID = ID_HEADER.lower()
_VARIABLES = VARIABLES_HEADER.lower()
_VERSION = VERSION_HEADER.lower()
MAX_TAG = 200
"""Longest prompt id a log record keeps as a tag."""


class PromptStage(Stage):
    def __init__(self, catalog: PromptCatalog) -> None:
        self._catalog = catalog

    def applies(self, ctx: Context) -> bool:
        helicone = ctx.helicone
        return _ID in helicone or _VARIABLES in helicone or _VERSION in helicone

    async def __call__(self, ctx: Context, call_next: CallNext) -> ProxyResponse:
        helicone = ctx.helicone
        prompt_id = helicone.get(_ID)
        if prompt_id is not None:
            await self._apply(ctx, prompt_id)
        elif _VARIABLES in helicone or _VERSION in helicone:
            other = VARIABLES_HEADER if _VARIABLES in helicone else VERSION_HEADER
            raise InvalidHeader(other, f"needs a {ID_HEADER} header naming the prompt")
        return await call_next(ctx)

    async def _apply(self, ctx: Context, raw_id: str) -> None:
        prompt_id = raw_id.strip()
        variables = parse_variables(ctx.helicone.get(_VARIABLES))
        selector = parse_version(ctx.helicone.get(_VERSION))
        body = ctx.json
        inline = inline_template(body) if isinstance(body, dict) else None
        if not PROMPT_ID.fullmatch(prompt_id):
            if inline is not None or not _taggable(prompt_id) or ctx.strict_headers:
                raise InvalidHeader(
                    ID_HEADER, "a prompt id is 1-128 letters, digits, '.', '_' or '-'"
                )
            # No stored prompt has such an id: one the gateway has never seen.
            self._unknown(ctx, prompt_id, variables)
            return
        prompt = ctx.prompt = PromptOutcome(prompt_id, variables)
        if inline is not None:
            assert isinstance(body, dict)
            template, tail = inline
            ctx.set_json(apply_inline(body, _fill(template, variables, prompt_id), tail))
            prompt.version = await self._register(ctx, prompt_id, template)
        else:
            try:
                version = await self._catalog.resolve(
                    ctx.org_id,
                    prompt_id,
                    selector,
                    id_param=ID_HEADER,
                    version_param=VERSION_HEADER,
                )
            except PromptNotFound:
                if ctx.strict_headers:
                    raise
                self._unknown(ctx, prompt_id, variables)
                return
            except (SQLAlchemyError, OSError) as exc:
                log.warning("could not read prompt %r: %s", prompt_id, exc)
                raise ServiceUnavailable("The prompt store is unavailable; retry later") from exc
            if not isinstance(body, dict):
                raise BadRequest(
                    f"{ID_HEADER} needs a JSON object request body (a chat request)",
                    param=ID_HEADER,
                )
            prompt.version = version.version
            filled = _fill(version.template, variables, prompt_id)
            ctx.set_json(assemble(body, version, filled, ctx.target.format))
        if prompt.version is not None:
            ctx.response_headers.append((b"helicone-prompt-version", b"%d" % prompt.version))

    @staticmethod
    def _unknown(ctx: Context, prompt_id: str, variables: dict[str, Any]) -> None:
        """Helicone forwards a request naming a prompt it does not hold, and tags it."""
        ctx.prompt = PromptOutcome(prompt_id, variables)
        ctx.warn(
            ID_HEADER,
            "no prompt with this id in this org and no {{...}} template in the body; "
            "forwarded unchanged, tagged with the id",
        )

    async def _register(self, ctx: Context, prompt_id: str, template: Template) -> int | None:
        try:
            return await self._catalog.register_inline(
                ctx.org_id, prompt_id, template, created_by=f"key:{ctx.key_id}"
            )
        except (SQLAlchemyError, OSError) as exc:
            # The request itself needs nothing from the store: serve it, unversioned.
            log.warning("could not register inline prompt %r: %s", prompt_id, exc)
            return None


def _taggable(prompt_id: str) -> bool:
    """Whether a record can keep ``prompt_id`` as its tag (the column holds 200)."""
    return 0 < len(prompt_id) <= MAX_TAG and prompt_id.isprintable()


def parse_variables(raw: str | None) -> dict[str, Any]:
    if raw is None or not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidHeader(VARIABLES_HEADER, f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InvalidHeader(VARIABLES_HEADER, "must be a JSON object of variable values")
    return value


def parse_version(raw: str | None) -> int | str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return check_selector(raw.strip(), VERSION_HEADER)
    except SpecError:
        raise InvalidHeader(
            VERSION_HEADER, f"must be a version number (1 to {MAX_VERSION}) or a label name"
        ) from None


def _fill(template: Template, variables: dict[str, Any], prompt_id: str) -> Template:
    try:
        return template.fill(variables)
    except MissingVariables as exc:
        names = ", ".join(repr(name) for name in exc.names)
        plural = "s" if len(exc.names) > 1 else ""
        raise InvalidHeader(
            VARIABLES_HEADER,
            f"missing variable{plural} {names} required by prompt {prompt_id!r}",
            code="missing_prompt_variable",
        ) from None


def build(settings: Settings, services: Services) -> PromptStage | None:
    if not settings.prompts.enabled or services.prompts is None:
        return None
    return PromptStage(services.prompts)
