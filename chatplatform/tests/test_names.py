"""Names (tenants, people, channels) end up in mail headers, chat titles and
logs: control characters in them are refused everywhere they come in."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from channels_app.models import Channel
from chatplatform.validators import validate_name
from onboarding.forms import OnboardOrganizationForm
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

BAD = ["Acme\r\nBcc: victim@example.test", "tab\there", "nul\x00", "line\u2028sep", "esc\x1b[31m"]


@pytest.mark.parametrize("value", BAD)
def test_the_validator_refuses_control_characters(value):
    with pytest.raises(ValidationError) as info:
        validate_name(value)
    assert info.value.code == "control_characters"


@pytest.mark.parametrize("value", ["Acme", "Société Générale", "日本語チーム", "Ann O\u2019Neil 👩‍💻"])
def test_the_validator_accepts_ordinary_names(value):
    validate_name(value)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/tenants/", {"name": "Evil\r\nBcc: x@example.test"}),
        ("patch", "/api/tenants/{tenant_a}/", {"name": "Evil\r\nCorp"}),
        ("post", "/api/users/", {"email": "new@acme.test", "full_name": "New\nUser"}),
        ("patch", "/api/users/{member}/", {"full_name": "Mem\rber"}),
        ("post", "/api/channels/", {"name": "chan\nnel"}),
        ("patch", "/api/channels/{channel}/", {"name": "chan\x07nel"}),
        ("post", "/api/invitations/", {"email": "inv@acme.test", "role": "member", "full_name": "In\nvitee"}),
    ],
)
def test_the_api_refuses_control_characters_in_names(client_for, world, method, path, body):
    path = path.format(tenant_a=world.tenant_a.pk, member=world.member.pk, channel=world.public_channel.pk)
    actor = world.staff if path.startswith("/api/tenants/") and method == "post" else world.admin
    response = getattr(client_for(actor), method)(path, body, format="json")
    assert response.status_code == 400, response.content
    field = next(iter(set(body) - {"email", "role"}))
    assert "control characters" in " ".join(response.json()["fields"][field])
    assert not Tenant.objects.filter(name__contains="\n").exists()
    assert not User.objects.filter(full_name__regex=r"[\r\n]").exists()
    assert not Channel.objects.filter(name__regex=r"[\n\x07]").exists()


@pytest.mark.parametrize("field", ["name", "admin_name", "channels"])
def test_the_onboarding_form_refuses_control_characters(field):
    data = {"name": "Initech", "admin_email": "p@initech.test", "admin_name": "Peter", "channels": "general"}
    data[field] = "bad\r\nname"
    form = OnboardOrganizationForm(data)
    assert not form.is_valid()
    assert "control characters" in " ".join(form.errors[field])


def test_the_models_refuse_control_characters(world):
    world.tenant_a.name = "Acme\nInc"
    with pytest.raises(ValidationError) as info:
        world.tenant_a.full_clean()
    assert "name" in info.value.message_dict


def test_an_import_row_with_a_control_character_in_a_name_fails_alone(world):
    from onboarding.imports import USERS, read_records, users_import

    data = b'email,full_name\nok@acme.test,Fine\nbad@acme.test,"Bad\x1bName"\n'
    result = users_import(tenant=world.tenant_a, records=read_records(data, schema=USERS, fmt="csv"))
    assert result.counts()["created"] == 1
    assert [row.key for row in result.failed] == ["bad@acme.test"]
    assert "control characters" in result.failed[0].detail
