"""AWS Signature Version 4 request signing with the standard library (``hmac``, ``hashlib``).

Implements AWS's "Create a signed AWS API request" steps for header-signed requests:

1. canonical request: ``METHOD\\nURI\\nQUERY\\nheaders\\n\\nsigned-headers\\nsha256(body)``, with
   each path segment URI-encoded (RFC 3986 unreserved characters kept), the query sorted by
   encoded name then value, header names lowercased, values trimmed with inner runs of spaces
   collapsed, and headers sorted by name;
2. string to sign: ``AWS4-HMAC-SHA256\\n<amz-date>\\n<date>/<region>/<service>/aws4_request\\n``
   + hex SHA-256 of the canonical request;
3. signing key: HMAC-SHA256 chain ``"AWS4"+secret`` → date → region → service →
   ``"aws4_request"``; signature = hex HMAC of the string to sign.

The tests pin this against AWS's published ``get-vanilla`` test vector. Used by the Polly
adapter (and by its fake, to verify what it receives).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "ALGORITHM",
    "AwsCredentials",
    "canonical_request",
    "parse_authorization",
    "sign_request",
    "signature",
    "signing_key",
]

ALGORITHM = "AWS4-HMAC-SHA256"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class AwsCredentials:
    """An access key pair, with the session token of temporary credentials."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_query(query: str | Iterable[tuple[str, str]]) -> str:
    """The canonical query string: names and values URI-encoded, sorted by name then value."""
    if isinstance(query, str):
        pairs = []
        for part in query.split("&") if query else []:
            name, _, value = part.partition("=")
            pairs.append((unquote(name.replace("+", " ")), unquote(value.replace("+", " "))))
    else:
        pairs = list(query)
    return "&".join(f"{n}={v}" for n, v in sorted((_encode(n), _encode(v)) for n, v in pairs))


def canonical_request(
    method: str, path: str, query: str | Iterable[tuple[str, str]], headers: Mapping[str, str], body: bytes
) -> tuple[str, str]:
    """(canonical request, signed-headers list) for a request; ``headers`` are the signed ones."""
    uri = "/".join(quote(unquote(seg), safe="-_.~") for seg in (path or "/").split("/")) or "/"
    canon = {k.strip().lower(): _SPACES.sub(" ", str(v).strip()) for k, v in headers.items()}
    names = sorted(canon)
    signed = ";".join(names)
    lines = [
        method.upper(),
        uri,
        canonical_query(query),
        "".join(f"{n}:{canon[n]}\n" for n in names),
        signed,
        hashlib.sha256(body).hexdigest(),
    ]
    return "\n".join(lines), signed


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived key for one day, region and service."""
    key = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature(canonical: str, amz_date: str, secret: str, region: str, service: str) -> str:
    """The hex signature of a canonical request made at ``amz_date`` (``YYYYMMDDTHHMMSSZ``)."""
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = signing_key(secret, date, region, service)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def sign_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes,
    credentials: AwsCredentials,
    region: str,
    service: str,
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """Return ``headers`` plus ``Host``, ``X-Amz-Date``, the session token (if any) and the
    ``Authorization`` header; every returned header is signed, so send exactly these."""
    parts = urlsplit(url)
    when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    out = {k: v for k, v in headers.items() if k.lower() not in ("host", "x-amz-date", "authorization")}
    out["Host"] = parts.netloc
    out["X-Amz-Date"] = amz_date
    if credentials.session_token:
        out["X-Amz-Security-Token"] = credentials.session_token
    canon, signed = canonical_request(method, parts.path, parts.query, out, body)
    sig = signature(canon, amz_date, credentials.secret_access_key, region, service)
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    out["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, SignedHeaders={signed}, Signature={sig}"
    )
    return out


def parse_authorization(value: str) -> dict[str, str] | None:
    """The fields of a SigV4 ``Authorization`` header (``access_key_id``, ``date``, ``region``,
    ``service``, ``signed_headers``, ``signature``), or None if it is not one."""
    if not value.startswith(ALGORITHM + " "):
        return None
    fields = dict(
        item.strip().split("=", 1) for item in value[len(ALGORITHM) + 1 :].split(",") if "=" in item
    )
    try:
        akid, date, region, service, terminal = fields["Credential"].split("/")
        return {
            "access_key_id": akid,
            "date": date,
            "region": region,
            "service": service,
            "terminal": terminal,
            "signed_headers": fields["SignedHeaders"],
            "signature": fields["Signature"],
        }
    except (KeyError, ValueError):
        return None
