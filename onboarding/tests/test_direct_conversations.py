"""Direct conversations belong to the people in them: exports leave them out,
and neither imports nor invitations put anyone into one."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from channels_app.models import Channel
from channels_app.services import channel_direct_start
from conftest import bearer_client
from onboarding.tests.helpers import run_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(world) -> Channel:
    channel, _ = channel_direct_start(creator=world.member, user_ids=[world.other_member.pk])
    return channel


def test_the_tenant_export_leaves_direct_conversations_out(world, conversation):
    out = io.StringIO()
    call_command("export_tenant", "acme", stdout=out, stderr=io.StringIO())
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["slug"] for r in records if r["type"] == "channel"] == ["general", "secret"]
    users = {r["email"]: r for r in records if r["type"] == "user"}
    assert users[world.member.email]["channels"] == ["general"]
    assert users[world.other_member.email]["channels"] == ["secret"]
    assert conversation.slug not in out.getvalue()


def test_a_channel_import_does_not_touch_a_direct_conversation(world, conversation, write):
    path = write("channels.csv", f"slug,name,description,visibility\n{conversation.slug},Hijacked,,public\n")
    run = run_command("import_channels", "--tenant", "acme", str(path))
    assert run.code == 2
    assert f"{conversation.slug}: this slug is a direct conversation's, not a channel's" in run.stderr
    conversation.refresh_from_db()
    assert (conversation.visibility, conversation.name) != ("public", "Hijacked")


def test_a_user_import_does_not_join_a_direct_conversation(world, conversation, write):
    path = write(
        "users.csv", f"email,full_name,role,channels\nspy@acme.test,Spy,member,{conversation.slug}\n"
    )
    run = run_command("import_users", "--tenant", "acme", str(path), "--no-links")
    assert run.code == 2
    assert f"unknown channel '{conversation.slug}'" in run.stderr
    assert conversation.memberships.count() == 2


def test_an_invitation_does_not_lead_into_a_direct_conversation(world, conversation):
    response = bearer_client(world.admin).post(
        "/api/invitations/", {"email": "spy@acme.test", "channels": [conversation.slug]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["channels"] == [f"No such channel in this tenant: {conversation.slug}"]
