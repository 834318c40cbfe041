"""``manage.py export_tenant``: JSON Lines that the imports read back (round trip)."""

from __future__ import annotations

import io
import json
import os
import stat

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from channels_app.models import ChannelRole, Membership
from channels_app.tests.factories import ChannelFactory
from onboarding.tests.helpers import run_command
from tenants.models import Tenant, TenantStatus
from tenants.roles import Role
from tenants.services import tenant_delete
from tenants.tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def export(slug: str) -> str:
    out = io.StringIO()
    call_command("export_tenant", slug, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def reimport(path: str, slug: str) -> None:
    """What an operator runs to rebuild a tenant from its export."""
    run = run_command("import_tenants", path, "--no-links")
    assert run.code == 0, run.stderr
    run = run_command("import_channels", "--tenant", slug, path)
    assert run.code == 0, run.stderr
    run = run_command("import_users", "--tenant", slug, path, "--no-links")
    assert run.code == 0, run.stderr


def test_export_writes_the_tenant_its_channels_and_its_users_with_their_channels(world):
    Membership.objects.filter(channel=world.public_channel, user=world.member).update(
        role=ChannelRole.MODERATOR
    )
    lines = [json.loads(line) for line in export("acme").splitlines()]

    assert lines[0] == {
        "type": "tenant",
        "slug": "acme",
        "name": "Acme",
        "status": "active",
        "admin_email": "admin@acme.test",
        "admin_full_name": world.admin.full_name,
    }
    assert [(r["type"], r["slug"]) for r in lines[1:3]] == [("channel", "general"), ("channel", "secret")]
    users = {r["email"]: r for r in lines[3:]}
    assert list(users) == sorted(users)
    assert set(users) == {"admin@acme.test", "mod@acme.test", "member@acme.test", "member2@acme.test"}
    assert users["member@acme.test"] == {
        "type": "user",
        "email": "member@acme.test",
        "full_name": world.member.full_name,
        "role": "member",
        "is_active": True,
        "channels": ["general:moderator"],
    }
    assert users["member2@acme.test"]["channels"] == ["secret"]


def test_export_holds_no_password_hashes_nor_other_tenants(world):
    text = export("acme")
    assert "password" not in text
    for user in User.objects.all():
        assert user.password not in text
    assert "globex" not in text


def test_export_goes_to_standard_output_with_the_summary_on_standard_error(world):
    run = run_command("export_tenant", "acme")
    assert run.code == 0
    assert len(run.stdout.splitlines()) == 1 + 2 + 4
    assert run.stderr.strip() == "Exported acme: 2 channels, 4 users, 2 memberships."


def test_export_to_a_file_readable_by_its_owner_only(world, tmp_path):
    path = tmp_path / "acme.jsonl"
    run = run_command("export_tenant", "acme", "--output", str(path))
    assert run.code == 0
    assert run.stdout.strip() == "Exported acme: 2 channels, 4 users, 2 memberships."
    assert path.read_text(encoding="utf-8") == export("acme")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_each_export_writes_one_audit_event_with_counts(world):
    export("acme")
    event = AuditEvent.objects.get(action="export.tenant")
    assert (event.tenant_id, event.target_type, event.target_id, event.target_repr) == (
        world.tenant_a.pk,
        "tenant",
        str(world.tenant_a.pk),
        "acme",
    )
    assert event.changes == {"users": [None, 4], "channels": [None, 2], "memberships": [None, 2]}


def test_an_unknown_tenant_is_an_error(db):
    run = run_command("export_tenant", "nope")
    assert run.code == 1
    assert "No tenant with the slug 'nope'" in run.stderr
    assert not AuditEvent.objects.exists()


def test_importing_an_export_into_its_own_tenant_changes_nothing(world, tmp_path):
    path = tmp_path / "acme.jsonl"
    path.write_text(export("acme"), encoding="utf-8")
    for command, args in (
        ("import_tenants", [str(path), "--no-links"]),
        ("import_channels", ["--tenant", "acme", str(path)]),
        ("import_users", ["--tenant", "acme", str(path), "--no-links"]),
    ):
        run = run_command(command, *args)
        assert run.code == 0, run.stderr
        assert " 0 created, 0 updated," in run.stdout


def test_export_then_import_rebuilds_a_deleted_tenant(world, tmp_path):
    world.tenant_a.name = 'Acme, Ünïcode & "Quotes"'
    world.tenant_a.save()
    User.objects.filter(pk=world.other_member.pk).update(is_active=False, full_name='Zoë, the "second"')
    path = tmp_path / "acme.jsonl"
    before = export("acme")
    path.write_text(before, encoding="utf-8")

    tenant_delete(tenant=world.tenant_a)
    reimport(str(path), "acme")

    assert export("acme") == before


# -- Property: any tenant survives export, deletion and import unchanged. ------------

storable = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
# Names refuse control characters and line breaks (chatplatform.validators.validate_name).
printable = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"))
names = st.text(alphabet=printable, min_size=1, max_size=40).map(str.strip).filter(bool)
slugs = st.from_regex(r"[a-z]{1,8}(-[a-z0-9]{1,6})?", fullmatch=True)
tenant_contents = st.fixed_dictionaries(
    {
        "status": st.sampled_from(TenantStatus.values),
        "channels": st.dictionaries(
            slugs,
            st.tuples(
                names, st.text(storable, max_size=30).map(str.strip), st.sampled_from(["public", "private"])
            ),
            max_size=3,
        ),
        "people": st.lists(
            st.tuples(
                names, st.sampled_from(Role.values), st.booleans(), st.sets(st.integers(0, 2), max_size=3)
            ),
            max_size=5,
        ),
    }
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(contents=tenant_contents)
def test_any_tenant_round_trips_through_export_and_import(db, tmp_path, contents):
    with transaction.atomic():
        tenant = TenantFactory(slug="roundtrip", name="Round Trip", status=contents["status"])
        UserFactory(tenant=tenant, role=Role.ADMIN, email="first-admin@roundtrip.test", full_name="First")
        channels = [
            ChannelFactory(
                tenant=tenant, slug=slug, name=name, description=description, visibility=visibility
            )
            for slug, (name, description, visibility) in contents["channels"].items()
        ]
        for n, (full_name, role, is_active, joined) in enumerate(contents["people"]):
            user = UserFactory(
                tenant=tenant,
                email=f"p{n}@roundtrip.test",
                full_name=full_name,
                role=role,
                is_active=is_active,
            )
            for index in joined:
                if index < len(channels):
                    role_in_channel = ChannelRole.MODERATOR if index % 2 else ChannelRole.MEMBER
                    Membership.objects.create(channel=channels[index], user=user, role=role_in_channel)
        before = export("roundtrip")
        path = tmp_path / "roundtrip.jsonl"
        path.write_text(before, encoding="utf-8")

        tenant_delete(tenant=tenant)
        reimport(str(path), "roundtrip")

        assert export("roundtrip") == before
        assert Tenant.objects.get(slug="roundtrip").status == contents["status"]
        transaction.set_rollback(True)
