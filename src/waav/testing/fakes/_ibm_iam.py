"""IBM Cloud IAM's token endpoint (``POST /identity/token``), shared by the IBM Watson fakes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from waav.testing.fakes._server import FakeServer

__all__ = ["GRANT", "issue_iam_token"]

#: The only grant type IAM accepts for an API key.
GRANT = "urn:ibm:params:oauth:grant-type:apikey"


async def issue_iam_token(
    fake: FakeServer, request: Request, api_key: str, ttl: float, keep: Callable[[str, float], None]
) -> Response:
    """Record ``request``; answer IAM's 400 for a wrong grant type or API key (or the
    ``reject_auth`` fault), else a new bearer token, handed to ``keep(token, expiration)``."""
    body = await request.body()
    fake.recorder.start(request, body=body)
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    if form.get("grant_type") != GRANT:
        return JSONResponse({"errorCode": "BXNIM0103E", "errorMessage": "Unsupported grant type"}, 400)
    if form.get("apikey") != api_key or fake.faults.reject_auth:
        return JSONResponse(
            {"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."}, 400
        )
    tok = "tok-" + uuid.uuid4().hex
    expiration = time.time() + ttl
    keep(tok, expiration)
    return JSONResponse(
        {
            "access_token": tok,
            "refresh_token": "not_supported",
            "token_type": "Bearer",
            "expires_in": int(ttl),
            "expiration": int(expiration),
            "scope": "ibm openid",
        }
    )
