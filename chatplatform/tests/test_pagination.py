"""List counts stop at API_COUNT_LIMIT; every page stays reachable."""

from __future__ import annotations

import pytest

from accounts.tests.factories import UserFactory
from conftest import bearer_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def directory(world, settings):
    """Tenant A with 12 users (the world's 4 and 8 more), counted up to 5."""
    settings.API_COUNT_LIMIT = 5
    for i in range(8):
        UserFactory(tenant=world.tenant_a, email=f"extra{i}@acme.test")
    return bearer_client(world.admin)


def test_a_count_past_the_limit_stops_at_it(directory):
    body = directory.get("/api/users/", {"page_size": 2}).json()
    assert (body["count"], len(body["results"])) == (5, 2)
    assert "page=2" in body["next"]


def test_a_count_under_the_limit_is_exact(directory):
    body = directory.get("/api/users/", {"search": "extra1"}).json()
    assert (body["count"], body["next"]) == (1, None)


def test_pages_past_the_limit_are_reachable_and_counted_to_their_end(directory):
    client, seen, url = directory, [], "/api/users/?page_size=4"
    while url:
        body = client.get(url).json()
        seen += [u["email"] for u in body["results"]]
        assert body["count"] >= len(seen)
        url = body["next"]
    assert len(seen) == len(set(seen)) == 12
    assert seen == sorted(seen)
    last = client.get("/api/users/", {"page_size": 4, "page": 3}).json()
    assert (last["count"], last["next"]) == (12, None)
    assert "page=2" in last["previous"]


def test_a_page_past_the_end_is_a_404(directory):
    response = directory.get("/api/users/", {"page_size": 4, "page": 4})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.mark.parametrize("page", ["0", "-1", "x"])
def test_a_malformed_page_is_a_400(directory, page):
    assert directory.get("/api/users/", {"page": page}).status_code == 400


def test_an_empty_list_has_a_first_page(world):
    body = bearer_client(world.admin).get("/api/users/", {"search": "nobody-at-all"}).json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}
