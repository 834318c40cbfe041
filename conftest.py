"""Shared fixtures: two tenants in every API suite (STYLE.md: "an admin, a
moderator, a member in tenant A, and an outsider in tenant B")."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from channels_app.tests.factories import ChannelFactory
from chatengine import copies
from tenants.models import Tenant
from tenants.roles import Role
from tenants.tests.factories import TenantFactory

# The suite shares two cores with the database and the browser: how fast hypothesis
# generates input says nothing about the code under test, so neither its generation
# health check nor its per-example deadline may fail a run.
hypothesis_settings.register_profile(
    "suite", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
hypothesis_settings.load_profile("suite")


# How ``make test`` (``pytest -n auto --dist loadgroup``) shares tests among
# xdist workers. A test file's tests stay on one worker, as under loadfile, so
# module-scoped fixtures (a live server per test module) are set up once; but
# the cases of the parametrized sweeps below, independent and with
# function-scoped fixtures only, each go to whichever worker is free, instead
# of all running on one. The scheduler below does this from the nodeids:
# xdist's own loadgroup reads ``xdist_group`` marks from a suffix it adds to
# the nodeid, which pytest 9.2 no longer lets it change
# (pytest-dev/pytest-xdist#1386), so it quietly spreads every test on its own.
# Where such a suffix does arrive, its group still wins.
SWEEPS = frozenset(
    {
        "chatengine/tests/test_robustness.py::test_no_route_answers_500_to_bad_input",
        "chatplatform/tests/test_cross_tenant.py::test_foreign_object_answers_like_a_missing_one",
        "chatplatform/tests/test_cross_tenant.py::test_foreign_direct_conversation_answers_like_a_missing_one",
        "chatplatform/tests/test_cross_tenant.py::test_lists_never_contain_another_tenants_rows",
    }
)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class FilesAndSweepCases(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.rfind("@") > nodeid.rfind("]"):
                return nodeid.split("@")[-1]  # an xdist_group
            if nodeid.split("[", 1)[0] in SWEEPS:
                return nodeid
            return nodeid.split("::", 1)[0]

    return FilesAndSweepCases(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a run in which a test module lacks a sweep SWEEPS names: a renamed
    sweep would otherwise go back to one worker without a word."""
    modules = {
        item.nodeid.split("::", 1)[0]: item.module for item in items if isinstance(item, pytest.Function)
    }
    lost = []
    for sweep in sorted(SWEEPS):
        path, name = sweep.split("::", 1)
        if path in modules and not hasattr(modules[path], name):
            lost.append(sweep)
    if lost:
        raise pytest.UsageError(f"conftest.SWEEPS names tests that do not exist: {', '.join(lost)}")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 costs ~150 ms per hash by design; tests that need it ask for it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The hashed-manifest storage needs collectstatic; the production-server test runs that.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    copies.forget_all()
    yield
    cache.clear()
    copies.forget_all()


class World:
    """Tenant A with an admin, a moderator and a member; tenant B with its own
    admin (the outsider); and platform staff."""

    def __init__(self) -> None:
        self.tenant_a: Tenant = TenantFactory(name="Acme", slug="acme")
        self.tenant_b: Tenant = TenantFactory(name="Globex", slug="globex")
        self.staff = UserFactory(tenant=None, is_staff=True, email="staff@platform.test")
        self.admin = UserFactory(tenant=self.tenant_a, role=Role.ADMIN, email="admin@acme.test")
        self.moderator = UserFactory(tenant=self.tenant_a, role=Role.MODERATOR, email="mod@acme.test")
        self.member = UserFactory(tenant=self.tenant_a, role=Role.MEMBER, email="member@acme.test")
        self.other_member = UserFactory(tenant=self.tenant_a, role=Role.MEMBER, email="member2@acme.test")
        self.outsider = UserFactory(tenant=self.tenant_b, role=Role.ADMIN, email="admin@globex.test")
        self.outsider_member = UserFactory(tenant=self.tenant_b, role=Role.MEMBER, email="member@globex.test")
        self.public_channel = ChannelFactory(tenant=self.tenant_a, slug="general", members=[self.member])
        self.private_channel = ChannelFactory(
            tenant=self.tenant_a, slug="secret", visibility="private", members=[self.other_member]
        )
        self.foreign_channel = ChannelFactory(
            tenant=self.tenant_b, slug="globex-general", members=[self.outsider]
        )

    def by_role(self, name: str):
        return {
            "staff": self.staff,
            "admin": self.admin,
            "moderator": self.moderator,
            "member": self.member,
            "outsider": self.outsider,
            "anonymous": None,
        }[name]


@pytest.fixture
def world(db) -> World:
    return World()


def bearer_client(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def client_for():
    return bearer_client


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_client(client, world):
    """The Django test client signed in to the admin as platform staff (a superuser)."""
    world.staff.is_superuser = True
    world.staff.save()
    client.force_login(world.staff)
    return client
