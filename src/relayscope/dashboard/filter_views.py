"""The filter bar's suggestions, for the signed-in org (``/dashboard/suggestions``):
the same answer as ``/api/requests/suggestions``, read with the session's org."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from relayscope.api.requests import json_response
from relayscope.api.suggestions import suggest, suggestions_json
from relayscope.dashboard import auth
from relayscope.dashboard.views import signed_in
from relayscope.errors import BadRequest


@signed_in
async def suggestions(request: Request, session: auth.Session) -> Response:
    database = request.app.state.store.database
    try:
        found = await suggest(
            database, session.org_id, request.query_params, logs=request.app.state.logs
        )
    except BadRequest as exc:
        return Response(exc.body(), exc.status, media_type="application/json")
    return json_response(suggestions_json(found))
