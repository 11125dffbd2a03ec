"""AWS presigned URLs (Signature Version 4 in the query) and the event-stream codec.

Both follow AWS's public specifications with the standard library only (no boto3/botocore):
"Authenticating requests: using query parameters" (on top of :mod:`waav.providers._sigv4`)
and "Event stream encoding" (Amazon Transcribe developer guide).

**Event-stream message** (all integers big-endian)::

    total length (4) | headers length (4) | prelude CRC32 (4) | headers | payload | message CRC32 (4)

The prelude CRC covers the first 8 bytes; the message CRC covers everything before it. A
header is ``name length (1) | name (UTF-8) | value type (1) | value``; value types:
0 true, 1 false, 2 byte, 3 short, 4 integer, 5 long, 6 byte array (2-byte length), 7 string
(2-byte length), 8 timestamp (8-byte milliseconds), 9 UUID (16 bytes).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import struct
import uuid
import zlib
from collections.abc import Mapping
from urllib.parse import quote

from waav._exceptions import ProviderProtocolError
from waav.providers._sigv4 import ALGORITHM, canonical_query, signature

__all__ = [
    "EMPTY_SHA256",
    "EventStreamError",
    "HeaderValue",
    "amz_date",
    "decode_message",
    "encode_message",
    "presign_url",
]

#: SHA-256 of an empty payload (what a presigned GET signs as its body hash).
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
#: Largest message the codec accepts (AWS caps event-stream messages at 16 MiB).
MAX_MESSAGE = 16 * 1024 * 1024
_PRELUDE = 12

HeaderValue = bool | int | bytes | str | _dt.datetime | uuid.UUID


class EventStreamError(ProviderProtocolError):
    """A malformed event-stream message (bad length, CRC or header)."""


# --- event stream ---------------------------------------------------------------------


def _encode_header(name: str, value: HeaderValue) -> bytes:
    raw = name.encode()
    if not 0 < len(raw) < 256:
        raise ValueError(f"event-stream header name must be 1-255 bytes: {name!r}")
    out = struct.pack(">B", len(raw)) + raw
    if isinstance(value, bool):
        return out + (b"\x00" if value else b"\x01")
    if isinstance(value, int):
        return out + b"\x04" + struct.pack(">i", value)
    if isinstance(value, bytes):
        return out + b"\x06" + struct.pack(">H", len(value)) + value
    if isinstance(value, str):
        data = value.encode()
        return out + b"\x07" + struct.pack(">H", len(data)) + data
    if isinstance(value, _dt.datetime):
        return out + b"\x08" + struct.pack(">q", int(value.timestamp() * 1000))
    if isinstance(value, uuid.UUID):
        return out + b"\x09" + value.bytes
    raise TypeError(f"unsupported event-stream header value {value!r}")


def encode_message(headers: Mapping[str, HeaderValue], payload: bytes = b"") -> bytes:
    """One event-stream message with these headers (in order) and payload."""
    head = b"".join(_encode_header(k, v) for k, v in headers.items())
    total = _PRELUDE + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack(">I", zlib.crc32(body))


def _decode_headers(data: bytes) -> dict[str, HeaderValue]:
    headers: dict[str, HeaderValue] = {}
    i = 0
    try:
        while i < len(data):
            n = data[i]
            name = data[i + 1 : i + 1 + n].decode()
            i += 1 + n
            kind = data[i]
            i += 1
            value: HeaderValue
            if kind in (0, 1):
                value = kind == 0
            elif kind == 2:
                value = struct.unpack_from(">b", data, i)[0]
                i += 1
            elif kind == 3:
                value = struct.unpack_from(">h", data, i)[0]
                i += 2
            elif kind == 4:
                value = struct.unpack_from(">i", data, i)[0]
                i += 4
            elif kind == 5:
                value = struct.unpack_from(">q", data, i)[0]
                i += 8
            elif kind in (6, 7):
                (length,) = struct.unpack_from(">H", data, i)
                raw = data[i + 2 : i + 2 + length]
                if len(raw) != length:
                    raise EventStreamError("event-stream header value runs past the headers")
                value = raw if kind == 6 else raw.decode()
                i += 2 + length
            elif kind == 8:
                ms = struct.unpack_from(">q", data, i)[0]
                value = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)
                i += 8
            elif kind == 9:
                if i + 16 > len(data):
                    raise EventStreamError("event-stream UUID header is truncated")
                value = uuid.UUID(bytes=data[i : i + 16])
                i += 16
            else:
                raise EventStreamError(f"unknown event-stream header type {kind}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise EventStreamError(f"malformed event-stream headers: {exc}") from None
    return headers


def decode_message(data: bytes) -> tuple[dict[str, HeaderValue], bytes]:
    """Headers and payload of exactly one event-stream message; checks lengths and both CRCs."""
    if len(data) < _PRELUDE + 4:
        raise EventStreamError(f"event-stream message too short ({len(data)} bytes)")
    total, head_len, prelude_crc = struct.unpack_from(">III", data)
    if zlib.crc32(data[:8]) != prelude_crc:
        raise EventStreamError("event-stream prelude CRC mismatch")
    if total != len(data) or total > MAX_MESSAGE or head_len > total - _PRELUDE - 4:
        raise EventStreamError(f"event-stream length {total} does not match the {len(data)} bytes received")
    (msg_crc,) = struct.unpack_from(">I", data, total - 4)
    if zlib.crc32(data[: total - 4]) != msg_crc:
        raise EventStreamError("event-stream message CRC mismatch")
    headers = _decode_headers(data[_PRELUDE : _PRELUDE + head_len])
    return headers, data[_PRELUDE + head_len : total - 4]


# --- Signature Version 4 presigned URLs -----------------------------------------------


def amz_date(when: _dt.datetime | None = None) -> str:
    """``YYYYMMDDTHHMMSSZ`` in UTC."""
    when = when or _dt.datetime.now(_dt.timezone.utc)
    return when.astimezone(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def presign_url(
    *,
    scheme: str,
    host: str,
    path: str,
    params: Mapping[str, str],
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    expires: int = 300,
    session_token: str | None = None,
    when: _dt.datetime | None = None,
    payload_hash: str = EMPTY_SHA256,
    method: str = "GET",
) -> str:
    """A SigV4 query-string-signed URL (signed header: ``host`` only).

    The signing steps are :mod:`waav.providers._sigv4`'s; what differs from a header-signed
    request is that the ``X-Amz-*`` fields travel in the query and are part of the canonical
    query. ``host`` is exactly what the client sends as the ``Host`` header (with the port
    when it is not the scheme's default).
    """
    stamp = amz_date(when)
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    query = dict(params)
    query.update(
        {
            "X-Amz-Algorithm": ALGORITHM,
            "X-Amz-Credential": f"{access_key}/{scope}",
            "X-Amz-Date": stamp,
            "X-Amz-Expires": str(int(expires)),
            "X-Amz-SignedHeaders": "host",
        }
    )
    if session_token:
        query["X-Amz-Security-Token"] = session_token
    canonical_qs = canonical_query(query.items())
    canonical = "\n".join(
        [method, quote(path, safe="/-_.~"), canonical_qs, f"host:{host}\n", "host", payload_hash]
    )
    sig = signature(canonical, stamp, secret_key, region, service)
    return f"{scheme}://{host}{path}?{canonical_qs}&X-Amz-Signature={sig}"
