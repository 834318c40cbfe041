"""``manage.py import_tenants``: tenants with their first admin, upserted on the slug."""

from __future__ import annotations

import pytest

from accounts.models import User
from audit.models import AuditEvent
from onboarding.tests.helpers import accept_link, outbox, read_report, run_command, snapshot
from streamsync.models import OutboxEntry
from tenants.models import Tenant, TenantStatus
from tenants.roles import Role

pytestmark = pytest.mark.django_db

TENANTS = (
    "slug,name,status,admin_email,admin_full_name\n"
    "initech,Initech,,peter@initech.test,Peter Gibbons\n"
    "umbrella,Umbrella Corp,suspended,alice@umbrella.test,\n"
)


def import_tenants(*args: str):
    return run_command("import_tenants", *args)


def test_import_creates_tenants_with_their_first_admin_and_a_link(db, write, report):
    run = import_tenants(str(write("tenants.csv", TENANTS)), "--report", str(report))

    assert run.code == 0, run.stderr
    assert run.stdout.strip() == "tenants: 2 created, 0 updated, 0 unchanged, 0 failed."
    initech = Tenant.objects.get(slug="initech")
    assert (initech.name, initech.status) == ("Initech", TenantStatus.ACTIVE)
    assert Tenant.objects.get(slug="umbrella").status == TenantStatus.SUSPENDED
    peter = User.objects.get(email="peter@initech.test")
    assert (peter.tenant, peter.role, peter.full_name, peter.has_usable_password()) == (
        initech,
        Role.ADMIN,
        "Peter Gibbons",
        False,
    )
    rows = read_report(report)
    assert [(r["line"], r["slug"], r["status"], r["admin_email"]) for r in rows] == [
        ("2", "initech", "created", "peter@initech.test"),
        ("3", "umbrella", "created", "alice@umbrella.test"),
    ]
    assert all("/invite/" in r["set_password_link"] for r in rows)
    assert accept_link(rows[0]["set_password_link"]).status_code == 201
    peter.refresh_from_db()
    assert peter.has_usable_password()
    assert outbox() == sorted(("user", str(u.pk)) for u in User.objects.filter(role=Role.ADMIN))
    event = AuditEvent.objects.get(action="import.tenants")
    assert (event.tenant_id, event.target_type) == (None, "tenant")
    assert event.changes == {
        "created": [None, 2],
        "updated": [None, 0],
        "unchanged": [None, 0],
        "failed": [None, 0],
    }


def test_existing_tenants_are_renamed_suspended_and_given_their_admin(world, write, report):
    OutboxEntry.objects.all().delete()
    content = (
        "slug,name,status,admin_email,admin_full_name\n"
        "acme,Acme Renamed,suspended,member@acme.test,\n"  # a member made admin; the tenant suspended
        "globex,Globex,,new-admin@globex.test,Nina\n"  # an admin created
    )
    run = import_tenants(str(write("tenants.csv", content)), "--report", str(report))

    assert run.code == 0, run.stderr
    world.tenant_a.refresh_from_db()
    assert (world.tenant_a.name, world.tenant_a.status) == ("Acme Renamed", TenantStatus.SUSPENDED)
    world.member.refresh_from_db()
    assert world.member.role == Role.ADMIN
    nina = User.objects.get(email="new-admin@globex.test")
    assert (nina.tenant, nina.role) == (world.tenant_b, Role.ADMIN)
    rows = read_report(report)
    assert [(r["slug"], r["status"], r["detail"]) for r in rows] == [
        ("acme", "updated", "changed: status, name, admin role"),
        ("globex", "updated", "changed: admin created"),
    ]
    assert rows[0]["set_password_link"] == ""
    assert "/invite/" in rows[1]["set_password_link"]
    # Suspension reaches every user of the tenant in the chat service.
    queued = {entity_id for kind, entity_id in outbox() if kind == "user"}
    assert {
        str(pk) for pk in User.objects.filter(tenant=world.tenant_a).values_list("pk", flat=True)
    } <= queued
    assert str(nina.pk) in queued


def test_a_rerun_changes_nothing_and_queues_nothing(db, write, report):
    path = str(write("tenants.csv", TENANTS))
    import_tenants(path, "--report", str(report))
    OutboxEntry.objects.all().delete()
    before = snapshot()
    run = import_tenants(path, "--report", str(report))
    assert run.stdout.strip() == "tenants: 0 created, 0 updated, 2 unchanged, 0 failed."
    after = snapshot()
    assert after.pop("audit") == before.pop("audit") + 1
    assert after == before


def test_dry_run_writes_nothing(world, write):
    before = snapshot()
    run = import_tenants(str(write("tenants.csv", TENANTS)), "--dry-run")
    assert run.code == 0
    assert snapshot() == before
    assert not Tenant.objects.filter(slug="initech").exists()


def test_bad_rows_are_reported_and_the_good_ones_committed(world, write, report):
    content = (
        "slug,name,status,admin_email,admin_full_name\n"
        "fine,Fine Inc,,boss@fine.test,\n"
        "noadmin,No Admin,,,\n"
        ",Nameless Slug,,x@x.test,\n"
        "noname,,,nn@noname.test,\n"
        "taken,Taken,,admin@globex.test,\n"
        "acme,,,member@globex.test,\n"
        "odd,Odd,closed,odd@odd.test,\n"
        "one,One,,same@same.test,\n"
        "two,Two,,SAME@same.test,\n"
    )
    run = import_tenants(str(write("tenants.csv", content)), "--report", str(report))

    assert run.code == 2
    assert run.stderr.splitlines()[:8] == [
        "line 3: noadmin: a new tenant needs admin_email (its first admin)",
        "line 4: slug is missing",
        "line 5: noname: a new tenant needs a name",
        "line 6: taken: admin_email belongs to an existing account",
        "line 7: acme: admin_email belongs to an account outside this tenant",
        "line 8: odd: status 'closed' is not one of active, suspended",
        "line 9: one: admin_email 'same@same.test' is also on line 10",
        "line 10: two: admin_email 'same@same.test' is also on line 9",
    ]
    assert set(Tenant.objects.values_list("slug", flat=True)) == {"acme", "globex", "fine"}
    assert User.objects.get(email="admin@globex.test").tenant == world.tenant_b
