"""``manage.py seed_demo``: the demo has people, channels and a direct
conversation, and a second run changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from channels_app.models import Channel

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_the_demo_has_a_direct_conversation_and_a_rerun_changes_nothing():
    assert "objects created" in _seed()
    conversation = Channel.objects.direct().get()
    assert conversation.name == "Mary Member, Max Member"
    assert set(conversation.memberships.values_list("user__email", "role")) == {
        ("mary@acme.test", "member"),
        ("max@acme.test", "member"),
    }
    assert "(0 objects created)" in _seed()
    assert Channel.objects.direct().count() == 1
