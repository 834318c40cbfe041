"""Platform staff have no tenant (DESIGN invariant 2): no tenant role can reach,
let alone take over, a staff account."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADD_USER = "/admin/accounts/user/add/"


def test_the_database_refuses_a_staff_account_with_a_tenant(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=world.staff.pk).update(tenant=world.tenant_a)


def test_the_console_add_form_refuses_staff_with_a_tenant(staff_client, world):
    response = staff_client.post(
        ADD_USER,
        {
            "email": "mallory@acme.test",
            "full_name": "Mallory",
            "tenant": str(world.tenant_a.pk),
            "role": "member",
            "is_staff": "on",
            "password1": "a-long-enough-password-1",
            "password2": "a-long-enough-password-1",
            "usable_password": "true",
        },
    )
    assert response.status_code == 200, "the form is shown again, with its error"
    assert "Platform staff have no tenant" in response.content.decode()
    assert not User.objects.filter(email="mallory@acme.test").exists()


def test_the_console_change_form_never_makes_a_tenant_user_staff(staff_client, world):
    url = f"/admin/accounts/user/{world.member.pk}/change/"
    assert 'name="is_staff"' not in staff_client.get(url).content.decode()  # fixed at creation
    response = staff_client.post(
        url,
        {
            "email": world.member.email,
            "full_name": world.member.full_name,
            "role": "member",
            "is_active": "on",
            "is_staff": "on",
        },
    )
    assert response.status_code == 302
    world.member.refresh_from_db()
    assert not world.member.is_staff


@pytest.fixture
def staff_in_tenant_a(world):
    """A staff row with a tenant, as data from before the constraint could hold
    (SQLite lets a test switch its check constraints off)."""
    if connection.vendor != "sqlite":
        pytest.skip("needs a database whose check constraints can be switched off")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA ignore_check_constraints = ON")
    try:
        user = UserFactory(tenant=world.tenant_a, is_staff=True, email="ops@platform.test")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = OFF")
    return user


@pytest.mark.parametrize("role", ["admin", "moderator", "member"])
def test_no_tenant_role_reaches_a_staff_account(client_for, world, staff_in_tenant_a, role):
    client = client_for(world.by_role(role))
    url = f"/api/users/{staff_in_tenant_a.pk}/"
    assert client.patch(url, {"password": "a-new-password-4711"}, format="json").status_code == 404
    assert client.get(url).status_code == 404
    listed = {row["email"] for row in client.get("/api/users/?page_size=200").json()["results"]}
    assert staff_in_tenant_a.email not in listed
    staff_in_tenant_a.refresh_from_db()
    assert staff_in_tenant_a.check_password("correct-horse-battery-staple")


def test_the_migration_stops_and_names_a_staff_account_with_a_tenant(staff_in_tenant_a):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("accounts.migrations.0004_staff_have_no_tenant")
    with pytest.raises(RuntimeError, match=r"ops@platform\.test.*clear its tenant.*or clear is_staff"):
        migration.refuse_staff_with_a_tenant(apps, None)


def test_the_migration_passes_data_that_keeps_the_rule(world):
    from importlib import import_module

    from django.apps import apps

    import_module("accounts.migrations.0004_staff_have_no_tenant").refuse_staff_with_a_tenant(apps, None)
