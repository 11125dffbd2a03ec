"""AWS Signature Version 4 against AWS's published test vectors."""

from __future__ import annotations

import datetime as dt

from waav.providers._sigv4 import (
    AwsCredentials,
    canonical_query,
    canonical_request,
    parse_authorization,
    sign_request,
    signing_key,
)

# The credentials and time of AWS's SigV4 test suite and documentation examples.
CREDS = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
WHEN = dt.datetime(2015, 8, 30, 12, 36, 0, tzinfo=dt.timezone.utc)


def test_get_vanilla() -> None:
    # aws-sig-v4-test-suite "get-vanilla"
    headers = sign_request(
        "GET",
        "https://example.amazonaws.com/",
        headers={},
        body=b"",
        credentials=CREDS,
        region="us-east-1",
        service="service",
        now=WHEN,
    )
    assert headers["X-Amz-Date"] == "20150830T123600Z"
    assert headers["Host"] == "example.amazonaws.com"
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_get_vanilla_query_order_key_case() -> None:
    # aws-sig-v4-test-suite "get-vanilla-query-order-key-case": the query is sorted before signing
    headers = sign_request(
        "GET",
        "https://example.amazonaws.com/?Param2=value2&Param1=value1",
        headers={},
        body=b"",
        credentials=CREDS,
        region="us-east-1",
        service="service",
        now=WHEN,
    )
    assert headers["Authorization"].endswith(
        "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
    )


def test_iam_list_users_documentation_example() -> None:
    # AWS General Reference "Signature Version 4 signing process" worked example (IAM ListUsers)
    headers = sign_request(
        "GET",
        "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        body=b"",
        credentials=CREDS,
        region="us-east-1",
        service="iam",
        now=WHEN,
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )


def test_signing_key_of_the_documentation_example() -> None:
    key = signing_key(CREDS.secret_access_key, "20150830", "us-east-1", "iam")
    assert key.hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"


def test_canonical_request_details() -> None:
    canon, signed = canonical_request(
        "post",
        "/a b/c",
        "b=2&a=%2F&a=1",
        {"Host": "h", "X-Amz-Date": "d", "X-Custom": "  several   spaces "},
        b"{}",
    )
    lines = canon.split("\n")
    assert lines[0] == "POST"
    assert lines[1] == "/a%20b/c"
    assert lines[2] == "a=%2F&a=1&b=2"
    assert "x-custom:several spaces" in lines
    assert signed == "host;x-amz-date;x-custom"
    assert canonical_query("") == ""


def test_session_token_is_signed() -> None:
    creds = AwsCredentials("AKID", "secret", "session-token")
    headers = sign_request(
        "POST",
        "https://polly.eu-west-1.amazonaws.com/v1/speech",
        headers={"Content-Type": "application/json"},
        body=b"{}",
        credentials=creds,
        region="eu-west-1",
        service="polly",
        now=WHEN,
    )
    assert headers["X-Amz-Security-Token"] == "session-token"
    auth = parse_authorization(headers["Authorization"])
    assert auth is not None
    assert auth["signed_headers"] == "content-type;host;x-amz-date;x-amz-security-token"
    assert (auth["region"], auth["service"], auth["date"]) == ("eu-west-1", "polly", "20150830")
    assert parse_authorization("Bearer x") is None
