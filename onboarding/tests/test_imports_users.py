"""``manage.py import_users``: upserts on email, every bad row reported, good rows
committed, reruns that change nothing and queue nothing."""

from __future__ import annotations

import io
import json
import os
import stat
import uuid
from types import SimpleNamespace

import pytest
from django.db import DatabaseError
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from audit.models import AuditEvent
from channels_app.models import ChannelRole, Membership
from channels_app.tests.factories import ChannelFactory
from onboarding.imports import USERS, ImportConflict, read_records, users_import
from onboarding.tests.helpers import TerminalStream, accept_link, outbox, read_report, run_command, snapshot
from streamsync.models import OutboxEntry
from tenants.roles import Role

pytestmark = pytest.mark.django_db

GOOD = (
    "email,full_name,role,channels\n"
    "ann@acme.test,Ann Archer,member,general\n"
    "bob@acme.test,Bob Baker,moderator,general:moderator|secret\n"
    "cy@acme.test,,,\n"
)


def import_users(*args: str, **kwargs):
    return run_command("import_users", "--tenant", "acme", *args, **kwargs)


def test_import_creates_users_joins_channels_and_reports_links(world, write, report):
    OutboxEntry.objects.all().delete()
    run = import_users(str(write("users.csv", GOOD)), "--report", str(report))

    assert run.code == 0, run.stderr
    assert run.stdout.strip() == "users into acme: 3 created, 0 updated, 0 unchanged, 0 failed."
    ann, bob, cy = (User.objects.get(email=f"{n}@acme.test") for n in ("ann", "bob", "cy"))
    assert (ann.full_name, ann.role, ann.tenant) == ("Ann Archer", Role.MEMBER, world.tenant_a)
    assert (bob.role, cy.role, cy.full_name, cy.is_active) == (Role.MODERATOR, Role.MEMBER, "", True)
    assert not any(user.has_usable_password() for user in (ann, bob, cy))
    assert sorted(
        Membership.objects.filter(user__in=[ann, bob, cy]).values_list("user__email", "channel__slug", "role")
    ) == [
        ("ann@acme.test", "general", ChannelRole.MEMBER),
        ("bob@acme.test", "general", ChannelRole.MODERATOR),
        ("bob@acme.test", "secret", ChannelRole.MEMBER),
    ]
    rows = read_report(report)
    assert [(r["line"], r["email"], r["status"]) for r in rows] == [
        ("2", "ann@acme.test", "created"),
        ("3", "bob@acme.test", "created"),
        ("4", "cy@acme.test", "created"),
    ]
    # One working set-password link per created user, in the report and nowhere else.
    links = {r["email"]: r["set_password_link"] for r in rows}
    assert all(link.startswith("http") and "/invite/" in link for link in links.values())
    assert all(accept_link(link).status_code == 201 for link in links.values())
    assert not any(link in run.stdout + run.stderr for link in links.values())
    # The chat service hears about the new users and the channels whose members changed.
    assert outbox() == sorted(
        [("user", str(u.pk)) for u in (ann, bob, cy)]
        + [
            ("channel_members", str(world.public_channel.pk)),
            ("channel_members", str(world.private_channel.pk)),
        ]
    )
    event = AuditEvent.objects.get(action="import.users")
    assert (event.tenant_id, event.target_type, event.target_id, event.target_repr) == (
        world.tenant_a.pk,
        "tenant",
        str(world.tenant_a.pk),
        "acme",
    )
    assert event.changes == {
        "created": [None, 3],
        "updated": [None, 0],
        "unchanged": [None, 0],
        "failed": [None, 0],
    }


def test_the_report_is_readable_by_its_owner_only(world, write, report):
    import_users(str(write("users.csv", GOOD)), "--report", str(report))
    assert stat.S_IMODE(os.stat(report).st_mode) == 0o600


def test_dry_run_checks_everything_and_writes_nothing(world, write, report):
    before = snapshot()
    content = GOOD + "member@acme.test,Renamed,,\nnobody@acme.test,X,member,nope\n"
    run = import_users(str(write("users.csv", content)), "--dry-run", "--report", str(report))

    assert snapshot() == before
    assert run.code == 2
    assert run.stdout.strip() == (
        "Dry run, nothing written: users into acme: 3 created, 1 updated, 0 unchanged, 1 failed."
    )
    assert "line 6: nobody@acme.test: unknown channel 'nope'" in run.stderr
    statuses = [(r["line"], r["status"], r["set_password_link"]) for r in read_report(report)]
    assert statuses == [
        ("2", "created", ""),
        ("3", "created", ""),
        ("4", "created", ""),
        ("5", "updated", ""),
        ("6", "failed", ""),
    ]


def test_dry_run_needs_no_report(world, write):
    run = import_users(str(write("users.csv", GOOD)), "--dry-run")
    assert run.code == 0
    assert not User.objects.filter(email="ann@acme.test").exists()


def test_a_rerun_changes_nothing_and_queues_nothing(world, write, report):
    path = str(write("users.csv", GOOD))
    import_users(path, "--report", str(report))
    OutboxEntry.objects.all().delete()
    before = snapshot()

    run = import_users(path, "--report", str(report))

    assert run.code == 0
    assert run.stdout.strip() == "users into acme: 0 created, 0 updated, 3 unchanged, 0 failed."
    after = snapshot()
    assert after.pop("audit") == before.pop("audit") + 1  # the rerun is on record, and that is all
    assert after == before
    assert not OutboxEntry.objects.exists()
    assert {r["status"] for r in read_report(report)} == {"unchanged"}


def test_updates_queue_only_what_changed(world, write, report):
    OutboxEntry.objects.all().delete()
    content = (
        "email,full_name,role,channels\n"
        "member@acme.test,,moderator,\n"  # role changes: the user is synced
        "member2@acme.test,,,general\n"  # joins a channel: only the channel's members are synced
        "mod@acme.test,,,\n"  # nothing given: unchanged
    )
    run = import_users(str(write("users.csv", content)), "--report", str(report))

    assert run.code == 0
    assert [(r["email"], r["status"], r["detail"]) for r in read_report(report)] == [
        ("member@acme.test", "updated", "changed: role"),
        ("member2@acme.test", "updated", "changed: channels"),
        ("mod@acme.test", "unchanged", ""),
    ]
    world.member.refresh_from_db()
    assert world.member.role == Role.MODERATOR
    assert outbox() == sorted(
        [("user", str(world.member.pk)), ("channel_members", str(world.public_channel.pk))]
    )
    assert not any(r["set_password_link"] for r in read_report(report))  # links are for created users only


def test_existing_users_keep_their_password(world, write, report):
    import_users(
        str(write("users.csv", "email,full_name\nmember@acme.test,New Name\n")), "--report", str(report)
    )
    world.member.refresh_from_db()
    assert world.member.full_name == "New Name"
    assert world.member.check_password(PASSWORD)


def test_every_bad_row_is_reported_and_the_good_rows_are_committed(world, write, report):
    content = (
        "email,full_name,role,channels\n"
        "good1@acme.test,Good One,member,general\n"
        "not-an-email,X,member,\n"
        ",No Email,member,\n"
        "bad-role@acme.test,X,owner,\n"
        "admin@globex.test,Taken,member,nope\n"
        "staff@platform.test,Staff,member,\n"
        "bad-channel@acme.test,X,member,general|nope|gone\n"
        "bad-channel-role@acme.test,X,member,general:owner\n"
        f"long@acme.test,{'x' * 151},boss,\n"
        "too,many,fields,here,yes\n"
        "good2@acme.test,Good Two,admin,\n"
    )
    run = import_users(str(write("users.csv", content)), "--report", str(report))

    assert run.code == 2
    expected = [
        "line 3: not-an-email: email 'not-an-email' is not a valid email address",
        "line 4: email is missing",
        "line 5: bad-role@acme.test: role 'owner' is not one of admin, moderator, member",
        "line 6: admin@globex.test: "
        "the email belongs to an account outside this tenant; unknown channel 'nope'",
        "line 7: staff@platform.test: the email belongs to an account outside this tenant",
        "line 8: bad-channel@acme.test: unknown channels 'nope', 'gone'",
        "line 9: bad-channel-role@acme.test: "
        "channel role 'owner' in 'general:owner' is not one of member, moderator",
        "line 10: long@acme.test: full_name is longer than 150 characters; "
        "role 'boss' is not one of admin, moderator, member",
        "line 11: too: expected 4 fields, found 5 (a value with a comma or a quote must be in double quotes)",
    ]
    assert run.stderr.splitlines()[: len(expected)] == expected
    assert "CommandError: 9 of 11 rows failed (listed above); the other rows were imported." in run.stderr
    assert "Traceback" not in run.stderr
    assert set(User.objects.filter(email__startswith="good").values_list("email", flat=True)) == {
        "good1@acme.test",
        "good2@acme.test",
    }
    assert not User.objects.filter(email__in=["bad-role@acme.test", "bad-channel@acme.test"]).exists()
    assert User.objects.get(email="admin@globex.test").tenant == world.tenant_b
    assert [r["status"] for r in read_report(report)] == ["created"] + ["failed"] * 9 + ["created"]
    assert AuditEvent.objects.get(action="import.users").changes == {
        "created": [None, 2],
        "updated": [None, 0],
        "unchanged": [None, 0],
        "failed": [None, 9],
    }


def test_a_user_of_another_tenant_is_never_moved_or_changed(world, write, report):
    before = User.objects.filter(pk=world.outsider.pk).values().get()
    run = import_users(
        str(write("users.csv", "email,full_name,role\nADMIN@globex.test,Hijack,member\n")),
        "--report",
        str(report),
    )
    assert run.code == 2
    assert "line 2: admin@globex.test: the email belongs to an account outside this tenant" in run.stderr
    assert User.objects.filter(pk=world.outsider.pk).values().get() == before


def test_duplicate_emails_in_one_file_fail_every_occurrence(world, write, report):
    content = (
        "email,full_name\n"
        "twin@acme.test,First\n"
        "solo@acme.test,Solo\n"
        "TWIN@acme.test ,Second\n"
        "twin@acme.test,Third\n"
    )
    run = import_users(str(write("users.csv", content)), "--report", str(report))

    assert run.code == 2
    assert "line 2: twin@acme.test: email 'twin@acme.test' is also on lines 4, 5" in run.stderr
    assert "line 4: twin@acme.test: email 'twin@acme.test' is also on lines 2, 5" in run.stderr
    assert "line 5: twin@acme.test: email 'twin@acme.test' is also on lines 2, 4" in run.stderr
    assert not User.objects.filter(email="twin@acme.test").exists()
    assert User.objects.filter(email="solo@acme.test").exists()


def test_bom_crlf_quoted_commas_multiline_values_and_non_ascii_names(world, write, report):
    content = (
        "\ufeffEmail , Full_Name,role,channels\r\n"
        '"jose@acme.test","Peña, José",member,"general|secret"\r\n'
        "\r\n"
        '"zoe@acme.test","Zoë ""Z"" Ångström",member,\r\n'
        '"lines@acme.test","Two\r\nLines",member,\r\n'
        "wei@acme.test,王伟,moderator,\r\n"
        "bad@@acme.test,X,member,\r\n"
    )
    run = import_users(str(write("users.csv", content.encode("utf-8"))), "--report", str(report))

    assert run.code == 2
    assert dict(
        User.objects.filter(email__in=["jose@acme.test", "zoe@acme.test", "wei@acme.test"]).values_list(
            "email", "full_name"
        )
    ) == {
        "jose@acme.test": "Peña, José",
        "zoe@acme.test": 'Zoë "Z" Ångström',
        "wei@acme.test": "王伟",
    }
    # A quoted line break is read as one value, and a name refuses it (names carry no control characters).
    assert not User.objects.filter(email="lines@acme.test").exists()
    # Line numbers count physical lines: the blank line and the two-line value included.
    assert [(r["line"], r["status"]) for r in read_report(report)] == [
        ("2", "created"),
        ("4", "created"),
        ("5", "failed"),
        ("7", "created"),
        ("8", "failed"),
    ]
    assert "line 8: bad@@acme.test: email 'bad@@acme.test' is not a valid email address" in run.stderr


def test_bytes_that_are_not_utf8_fail_their_row_only(world, write, report):
    content = b"email,full_name\nok@acme.test,Fine\nlatin@acme.test,Jos\xe9\nnul@acme.test,A\x00B\n"
    run = import_users(str(write("users.csv", content)), "--report", str(report))

    assert run.code == 2
    assert (
        "line 3: latin@acme.test: full_name contains a NUL character or bytes that are not UTF-8"
        in run.stderr
    )
    assert (
        "line 4: nul@acme.test: full_name contains a NUL character or bytes that are not UTF-8" in run.stderr
    )
    assert list(
        User.objects.filter(email__endswith="@acme.test", full_name="Fine").values_list("email", flat=True)
    ) == ["ok@acme.test"]


def test_an_open_quote_is_pointed_out(world, write, report):
    content = 'email,full_name,role,channels\nok@acme.test,"Open,member,\nlost@acme.test,Lost,member,\n'
    run = import_users(str(write("users.csv", content)), "--report", str(report))
    assert run.code == 2
    assert (
        "line 2: ok@acme.test: expected 4 fields, found 2 "
        "(the row runs to line 3: is a double quote left open?)" in run.stderr
    )


def test_channel_roles_are_set_only_when_named(world, write, report):
    Membership.objects.filter(channel=world.public_channel, user=world.member).update(
        role=ChannelRole.MODERATOR
    )
    content = (
        "email,channels\n"
        "member@acme.test,general\n"  # already a channel moderator: a bare slug keeps that
        "member2@acme.test,secret:moderator\n"  # a member promoted in the channel
    )
    run = import_users(str(write("users.csv", content)), "--report", str(report))
    assert run.code == 0
    roles = dict(
        Membership.objects.filter(user__in=[world.member, world.other_member]).values_list(
            "user__email", "role"
        )
    )
    assert roles == {"member@acme.test": ChannelRole.MODERATOR, "member2@acme.test": ChannelRole.MODERATOR}
    assert [r["status"] for r in read_report(report)] == ["unchanged", "updated"]


def test_is_active_deactivates_and_the_last_admin_stays(world, write, report):
    content = "email,role,is_active\nmember@acme.test,,false\nadmin@acme.test,member,\n"
    run = import_users(str(write("users.csv", content)), "--report", str(report))

    assert run.code == 2
    assert "line 3: admin@acme.test: it would leave the tenant without an active admin" in run.stderr
    world.member.refresh_from_db()
    world.admin.refresh_from_db()
    assert world.member.is_active is False
    assert (world.admin.role, world.admin.is_active) == (Role.ADMIN, True)


def test_a_deactivation_by_import_ends_the_users_sessions(world, write):
    from rest_framework_simplejwt.tokens import RefreshToken

    member_session = RefreshToken.for_user(world.member)
    other_session = RefreshToken.for_user(world.other_member)
    content = "email,is_active,full_name\nmember@acme.test,false,\nmember2@acme.test,,Renamed\n"
    assert import_users(str(write("users.csv", content)), "--no-links").code == 0
    refresh = "/api/auth/refresh"
    world.member.is_active = True
    world.member.save()
    assert APIClient().post(refresh, {"refresh": str(member_session)}, format="json").status_code == 401
    assert APIClient().post(refresh, {"refresh": str(other_session)}, format="json").status_code == 200


def test_an_admin_can_be_demoted_when_the_file_names_another(world, write, report):
    content = "email,role\nadmin@acme.test,member\nmod@acme.test,admin\n"
    run = import_users(str(write("users.csv", content)), "--report", str(report))
    assert run.code == 0, run.stderr
    assert dict(
        User.objects.filter(tenant=world.tenant_a, role=Role.ADMIN).values_list("email", "is_active")
    ) == {"mod@acme.test": True}


def test_json_lines_with_the_same_fields(world, write, report):
    lines = [
        {"email": "json@acme.test", "full_name": "Jay Son", "role": "moderator", "channels": ["general"]},
        {"email": "pipe@acme.test", "channels": "general|secret:moderator", "is_active": False},
        {"email": "pw@acme.test", "password": "hunter2-secret"},
        {"type": "channel", "slug": "ignored"},
        "not an object",
    ]
    content = "\n".join(json.dumps(line) for line in lines) + "\n{broken\n"
    run = import_users(str(write("users.jsonl", content)), "--report", str(report))

    assert run.code == 2
    json_user = User.objects.get(email="json@acme.test")
    assert (json_user.full_name, json_user.role) == ("Jay Son", Role.MODERATOR)
    pipe = User.objects.get(email="pipe@acme.test")
    assert pipe.is_active is False
    assert dict(pipe.memberships.values_list("channel__slug", "role")) == {
        "general": "member",
        "secret": "moderator",
    }
    assert (
        "line 3: pw@acme.test: the field 'password' is not accepted: imports carry no passwords" in run.stderr
    )
    assert "line 5: not a JSON object" in run.stderr
    assert "line 6: not valid JSON" in run.stderr
    assert not User.objects.filter(email="pw@acme.test").exists()
    assert "hunter2-secret" not in run.stdout + run.stderr + report.read_text()


def test_a_password_column_rejects_the_file_without_echoing_it(world, write, report):
    content = "email,password\nann@acme.test,hunter2-secret\n"
    run = import_users(str(write("users.csv", content)), "--report", str(report))

    assert run.code == 1
    assert "Bad header: the column 'password' is not accepted: imports carry no passwords" in run.stderr
    assert "hunter2-secret" not in run.stdout + run.stderr
    assert not User.objects.filter(email="ann@acme.test").exists()
    assert not report.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The file is empty"),
        ("\r\n\r\n", "The file is empty"),
        ("full_name,role\nAnn,member\n", "The header has no 'email' column"),
        (
            "email,nickname\na@acme.test,A\n",
            "Bad header: unknown column 'nickname' (known: email, full_name, role",
        ),
        ("email,email\na@acme.test,b@acme.test\n", "The header names 'email' more than once"),
        ("email,full_name,\na@acme.test,A,\n", "Bad header: column 3 has no name"),
        (b"email,n\xe4me\na@acme.test,A\n", "The header is not valid UTF-8"),
    ],
)
def test_files_that_cannot_be_imported_write_nothing(world, write, report, content, message):
    before = snapshot()
    run = import_users(str(write("users.csv", content)), "--report", str(report))
    assert run.code == 1
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert snapshot() == before


def test_arguments_that_cannot_work_are_refused_before_anything_is_written(world, write, report, tmp_path):
    path = str(write("users.csv", GOOD))
    before = snapshot()
    missing = run_command(
        "import_users", "--tenant", "acme", str(tmp_path / "missing.csv"), "--report", str(report)
    )
    assert (missing.code, "Cannot read" in missing.stderr) == (1, True)
    unknown = run_command("import_users", "--tenant", "nope", path, "--report", str(report))
    assert (unknown.code, "No tenant with the slug 'nope'" in unknown.stderr) == (1, True)
    no_report = run_command("import_users", "--tenant", "acme", path)
    assert no_report.code == 1
    assert "pass --report FILE (or --no-links)" in no_report.stderr
    bad_report = import_users(path, "--report", str(tmp_path / "no-such-dir" / "r.csv"))
    assert (bad_report.code, "Cannot write the report" in bad_report.stderr) == (1, True)
    assert snapshot() == before


def test_standard_input_is_read_with_a_dash(world, monkeypatch, report):
    monkeypatch.setattr("sys.stdin", SimpleNamespace(buffer=io.BytesIO(b'{"email": "piped@acme.test"}\n')))
    run = import_users("-", "--report", str(report))
    assert run.code == 0, run.stderr
    assert User.objects.filter(email="piped@acme.test", tenant=world.tenant_a).exists()


def test_no_links_issues_no_links(world, write, report):
    run = import_users(str(write("users.csv", GOOD)), "--no-links", "--report", str(report))
    assert run.code == 0
    assert User.objects.filter(email="ann@acme.test").exists()
    assert not any(r.get("set_password_link") for r in read_report(report))


def test_a_progress_bar_only_on_a_terminal(world, write, report):
    path = str(write("users.csv", GOOD))
    terminal = TerminalStream()
    import_users(path, "--dry-run", stderr=terminal)
    assert "\rchecking" in terminal.getvalue()
    assert "[" + "#" * 30 + "] 100%" in terminal.getvalue()

    plain = import_users(path, "--dry-run")
    assert plain.stderr == ""


def test_a_concurrent_change_rolls_the_whole_import_back(world, monkeypatch):
    """If the database refuses the write (here: an email taken after the checks),
    nothing of the import stays, and the caller is told to rerun it."""
    from onboarding.imports import users as imports

    records = read_records(
        b"email,full_name\nfresh@acme.test,Fresh\nmember@acme.test,Taken Meanwhile\n", schema=USERS, fmt="csv"
    )
    monkeypatch.setattr(imports, "existing_users", lambda emails: {})  # the checks saw neither
    before = snapshot()
    with pytest.raises(ImportConflict, match="Nothing was written; run the import again"):
        users_import(tenant=world.tenant_a, records=records)
    assert snapshot() == before


def test_any_other_refusal_of_the_database_is_reported_cleanly(world, monkeypatch, write, report):
    from onboarding.imports import users as imports

    def refuse(*args, **kwargs):
        raise DatabaseError("value too long for type character varying(150)\nCONTEXT: COPY accounts_user")

    monkeypatch.setattr(imports, "users_bulk_create", refuse)
    before = snapshot()
    run = import_users(str(write("users.csv", GOOD)), "--report", str(report))
    assert run.code == 1
    assert (
        "The database refused the import (value too long for type character varying(150)). "
        "Nothing was written." in run.stderr
    )
    assert "Traceback" not in run.stderr
    assert snapshot() == before
    assert not report.exists()  # no report of an import that did not happen


def test_a_failure_to_sign_the_links_writes_nothing(world, write, report, monkeypatch):
    """Links are signed in a thread beside the writes: what goes wrong there
    still undoes the import."""
    from onboarding.imports import users as imports

    def broken(**kwargs):
        raise RuntimeError("no signing key")

    monkeypatch.setattr(imports, "set_password_links_issue", broken)
    before = snapshot()
    with pytest.raises(RuntimeError, match="no signing key"):
        import_users(str(write("users.csv", GOOD)), "--report", str(report))
    assert snapshot() == before


def test_the_garbage_collector_is_back_on_after_an_import(world, write, report):
    import gc

    assert gc.isenabled()
    assert import_users(str(write("users.csv", GOOD)), "--report", str(report)).code == 0
    assert gc.isenabled()
    assert import_users(str(write("bad.csv", "nope\n")), "--report", str(report)).code == 1
    assert gc.isenabled()


def test_new_users_get_distinct_random_ids_and_unusable_passwords(world, write, report):
    import_users(str(write("users.csv", GOOD)), "--report", str(report))
    users = list(User.objects.filter(email__in=["ann@acme.test", "bob@acme.test", "cy@acme.test"]))
    assert len({user.pk for user in users}) == 3
    assert all(user.pk.version == 4 and user.pk.variant == uuid.RFC_4122 for user in users)
    assert len({user.password for user in users}) == 3
    assert not any(user.has_usable_password() for user in users)


def test_a_large_import_takes_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    """Set-based: the query count does not grow with the rows (chunks aside)."""
    UserFactory(tenant=world.tenant_a, email="existing@acme.test")
    ChannelFactory(tenant=world.tenant_a, slug="random")
    lines = ["email,full_name,role,channels"]
    lines += [f"p{i}@acme.test,Person {i},member,general|random" for i in range(300)]
    lines.append("existing@acme.test,Renamed,moderator,general")
    records = read_records("\n".join(lines).encode(), schema=USERS, fmt="csv")
    with django_assert_max_num_queries(30):
        result = users_import(tenant=world.tenant_a, records=records)
    assert result.counts() == {"created": 300, "updated": 1, "unchanged": 0, "failed": 0}
    assert Membership.objects.filter(user__email__startswith="p").count() == 600
