"""Reading import files: formats, line numbers, and the parser's round trip with
the export format (property tests)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from channels_app.models import ChannelRole
from onboarding.exports import channel_token, record_line, user_record
from onboarding.imports import (
    CHANNELS,
    TENANTS,
    USERS,
    ImportFileError,
    ImportResult,
    detect_format,
    read_records,
)
from onboarding.imports.results import parse_rows
from onboarding.imports.users import _parse_user
from onboarding.imports.values import _PLAIN_EMAIL, EMAIL_MAX_LENGTH, RowError, email_value
from tenants.roles import Role


def parse_users(data: bytes, fmt: str) -> tuple[dict, ImportResult]:
    result = ImportResult(kind="users", dry_run=True)
    rows = parse_rows(read_records(data, schema=USERS, fmt=fmt), USERS, _parse_user, result)
    return rows, result


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("users.csv", b"{", "csv"),
        ("users.CSV", b"", "csv"),
        ("users.jsonl", b"email", "jsonl"),
        ("users.ndjson", b"", "jsonl"),
        ("", b'\xef\xbb\xbf\n  {"email": "a@b.test"}', "jsonl"),
        ("", b"email,full_name\n", "csv"),
        ("users.txt", b"", "csv"),
    ],
)
def test_the_format_comes_from_the_extension_else_the_content(name, data, fmt):
    assert detect_format(name, data) == fmt


def test_json_lines_keep_physical_line_numbers_and_skip_other_kinds():
    lines = [
        "",
        json.dumps({"type": "tenant", "slug": "acme"}),
        json.dumps({"type": "user", "email": "a@acme.test", "full_name": "Line\u2028Separator"}),
        "   ",
        json.dumps({"email": "b@acme.test", "nickname": "bee"}),
        json.dumps({"type": "membership", "email": "c@acme.test"}),
        json.dumps({"type": "channel", "slug": "general"}),
    ]
    records = read_records("\r\n".join(lines).encode(), schema=USERS, fmt="jsonl")
    assert [(r.line, r.error) for r in records] == [
        (3, ""),
        (5, "unknown field 'nickname' (known: email, full_name, role, channels, is_active)"),
        (6, "unknown record type 'membership'"),
    ]
    assert records[0].values["full_name"] == "Line\u2028Separator"


def test_each_import_reads_its_own_kind_from_an_export():
    export = "".join(
        record_line(record)
        for record in (
            {"type": "tenant", "slug": "acme", "name": "Acme"},
            {"type": "channel", "slug": "general", "name": "General"},
            user_record(email="a@acme.test", full_name="A", role="member", is_active=True, channels=[]),
        )
    ).encode()
    assert [r.line for r in read_records(export, schema=TENANTS, fmt="jsonl")] == [1]
    assert [r.line for r in read_records(export, schema=CHANNELS, fmt="jsonl")] == [2]
    assert [r.line for r in read_records(export, schema=USERS, fmt="jsonl")] == [3]


def test_json_lines_that_are_not_records_fail_alone():
    lines = [
        "[" * 100_000,
        '"just a string"',
        '{"type": ["user"], "email": "list@acme.test"}',
        '{"email": 5, "full_name": ["A"]}',
        '{"email": "ok@acme.test", "is_active": "maybe", "channels": [1]}',
        '{"email": "fine@acme.test"}',
    ]
    rows, result = parse_users("\n".join(lines).encode(), "jsonl")
    assert [(r.line, r.detail) for r in result.rows] == [
        (1, "not valid JSON: nested too deeply"),
        (2, "not a JSON object"),
        (3, "unknown record type ['user']"),
        (4, "email must be text; full_name must be text"),
        (
            5,
            "channels must be text (slugs separated by '|') or a list of slugs; "
            "is_active must be true or false, not 'maybe'",
        ),
    ]
    assert [row.email for row in rows.values()] == ["fine@acme.test"]


def test_csv_skips_blank_rows_and_reads_a_header_only_file_as_no_rows():
    assert read_records(b"email,full_name\n,\n \n", schema=USERS, fmt="csv") == []
    records = read_records(b"\n\nEMAIL\n\na@acme.test\n", schema=USERS, fmt="csv")
    assert [(r.line, r.values) for r in records] == [(5, {"email": "a@acme.test"})]


def test_an_unknown_format_is_a_file_error():
    with pytest.raises(ImportFileError, match="Unknown format 'xml'"):
        read_records(b"", schema=USERS, fmt="xml")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (" Ann@Example.COM ", "ann@example.com"),
        ("o'brien+tag@sub.example.org", "o'brien+tag@sub.example.org"),
        ("user@localhost", "user@localhost"),
    ],
)
def test_emails_are_normalized_and_checked_like_the_rest_of_the_product(value, expected):
    assert email_value({"email": value}, "email") == expected


@pytest.mark.parametrize(
    "value", ["plain", "a@b", "a@@b.test", "a b@c.test", ".a@b.test", f"{'a' * 250}@b.test"]
)
def test_invalid_emails_fail_the_row(value):
    with pytest.raises(RowError):
        email_value({"email": value}, "email")


@given(st.from_regex(_PLAIN_EMAIL, fullmatch=True).filter(lambda e: len(e) <= EMAIL_MAX_LENGTH))
def test_the_fast_email_check_accepts_only_what_django_accepts(email):
    """The importer checks the length first; within it, the fast path is a subset."""
    validate_email(email)


@given(st.emails())
def test_every_email_django_accepts_is_accepted(email):
    try:
        validate_email(email.lower())
    except ValidationError:
        return
    if len(email) <= 254:
        assert email_value({"email": email}, "email") == email.lower()


# -- Round trip: what the export writes, the parser reads back unchanged. ----------

slugs = st.from_regex(r"[a-z0-9]{1,12}(-[a-z0-9]{1,12}){0,2}", fullmatch=True)
# Any name the import keeps (trimmed; empty means "not given"): names refuse control
# characters and line breaks (chatplatform.validators.validate_name).
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=60).map(
    str.strip
)
users = st.fixed_dictionaries(
    {
        "email": st.from_regex(_PLAIN_EMAIL, fullmatch=True).filter(lambda e: len(e) <= EMAIL_MAX_LENGTH),
        "full_name": texts,
        "role": st.sampled_from(Role.values),
        "is_active": st.booleans(),
        "channels": st.dictionaries(slugs, st.sampled_from(ChannelRole.values), max_size=4),
    }
)


def expected_row(user: dict) -> tuple:
    """What the import takes from an exported user: empty text is "not given", and a
    plain member is named by the bare slug (member if new, role kept otherwise)."""
    channels = {
        slug: (None if role == ChannelRole.MEMBER else role) for slug, role in user["channels"].items()
    }
    return (user["email"], user["full_name"] or None, user["role"], channels or None, user["is_active"])


def as_tuple(row) -> tuple:
    return (row.email, row.full_name, row.role, row.channels, row.is_active)


def exported(user: dict) -> dict:
    tokens = [channel_token(slug, role) for slug, role in user["channels"].items()]
    return user_record(
        email=user["email"],
        full_name=user["full_name"],
        role=user["role"],
        is_active=user["is_active"],
        channels=tokens,
    )


@settings(max_examples=50)
@given(st.lists(users, max_size=6, unique_by=lambda u: u["email"]))
def test_json_lines_round_trip(people):
    data = "".join(record_line(exported(user)) for user in people).encode()
    rows, result = parse_users(data, "jsonl")
    assert result.rows == []
    assert [as_tuple(row) for row in rows.values()] == [expected_row(user) for user in people]


# Python's writer leaves a lone "\r" unquoted unless the line ends with it or
# everything is quoted; spreadsheets quote it.
@settings(max_examples=50)
@given(
    st.lists(users, max_size=6, unique_by=lambda u: u["email"]),
    st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\n", csv.QUOTE_ALL)]),
)
def test_csv_round_trip(people, dialect):
    newline, quoting = dialect
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=newline, quoting=quoting)
    writer.writerow(["email", "full_name", "role", "channels", "is_active"])
    for user in people:
        record = exported(user)
        writer.writerow(
            [
                record["email"],
                record["full_name"],
                record["role"],
                "|".join(record["channels"]),
                record["is_active"],
            ]
        )
    rows, result = parse_users(("\ufeff" + out.getvalue()).encode(), "csv")
    assert result.rows == []
    assert [as_tuple(row) for row in rows.values()] == [expected_row(user) for user in people]
