"""``manage.py import_channels``: upserts on the slug within the tenant, synced
through the ``channels_bulk_changed`` signal."""

from __future__ import annotations

import pytest
from django.db import transaction

from audit.models import AuditEvent
from channels_app.models import Channel
from channels_app.signals import channels_bulk_changed
from channels_app.tests.factories import ChannelFactory
from onboarding.tests.helpers import outbox, read_report, run_command, snapshot
from streamsync.models import EntityType, OutboxEntry, OutboxStatus

pytestmark = pytest.mark.django_db

CHANNELS = (
    "slug,name,description,visibility\n"
    "general,General,,\n"  # exists with this name: unchanged
    "announcements,Announcements,Company news,public\n"
    "leads,Leads,,PRIVATE\n"
)


def import_channels(*args: str):
    return run_command("import_channels", "--tenant", "acme", *args)


def test_import_creates_and_updates_channels_and_queues_only_those(world, write, report):
    OutboxEntry.objects.all().delete()
    content = CHANNELS + "secret,Top Secret,,\n"  # renamed
    run = import_channels(str(write("channels.csv", content)), "--report", str(report))

    assert run.code == 0, run.stderr
    assert run.stdout.strip() == "channels into acme: 2 created, 1 updated, 1 unchanged, 0 failed."
    created = {
        c.slug: c for c in Channel.objects.filter(tenant=world.tenant_a, slug__in=["announcements", "leads"])
    }
    assert (created["announcements"].name, created["announcements"].description) == (
        "Announcements",
        "Company news",
    )
    assert (created["leads"].visibility, created["leads"].created_by) == ("private", None)
    world.private_channel.refresh_from_db()
    assert world.private_channel.name == "Top Secret"
    assert [(r["slug"], r["status"], r["detail"]) for r in read_report(report)] == [
        ("general", "unchanged", ""),
        ("announcements", "created", ""),
        ("leads", "created", ""),
        ("secret", "updated", "changed: name"),
    ]
    assert outbox() == sorted(
        ("channel", str(pk))
        for pk in [created["announcements"].pk, created["leads"].pk, world.private_channel.pk]
    )
    event = AuditEvent.objects.get(action="import.channels")
    assert (event.tenant_id, event.target_repr) == (world.tenant_a.pk, "acme")
    assert event.changes == {
        "created": [None, 2],
        "updated": [None, 1],
        "unchanged": [None, 1],
        "failed": [None, 0],
    }


def test_slugs_are_per_tenant(world, write, report):
    ChannelFactory(tenant=world.tenant_b, slug="leads", name="Globex Leads")
    run = import_channels(str(write("channels.csv", CHANNELS)), "--report", str(report))
    assert run.code == 0
    assert Channel.objects.get(tenant=world.tenant_b, slug="leads").name == "Globex Leads"
    assert Channel.objects.get(tenant=world.tenant_a, slug="leads").name == "Leads"


def test_a_rerun_changes_nothing_and_queues_nothing(world, write, report):
    path = str(write("channels.csv", CHANNELS))
    import_channels(path)
    OutboxEntry.objects.all().delete()
    before = snapshot()
    run = import_channels(path)
    assert run.stdout.strip() == "channels into acme: 0 created, 0 updated, 3 unchanged, 0 failed."
    assert not OutboxEntry.objects.exists()
    after = snapshot()
    assert after.pop("audit") == before.pop("audit") + 1
    assert after == before


def test_dry_run_writes_nothing(world, write):
    before = snapshot()
    run = import_channels(str(write("channels.csv", CHANNELS)), "--dry-run")
    assert run.code == 0
    assert run.stdout.startswith("Dry run, nothing written: channels into acme: 2 created")
    assert snapshot() == before


def test_bad_rows_are_reported_and_the_good_ones_committed(world, write, report):
    content = (
        "slug,name,description,visibility\n"
        "fine,Fine,,\n"
        "Bad Slug,X,,\n"
        "nameless,,,\n"
        "hidden,Hidden,,secret\n"
        "twice,Once,,\n"
        "twice,Twice,,\n"
        f"long,{'n' * 101},,\n"
    )
    run = import_channels(str(write("channels.csv", content)), "--report", str(report))

    assert run.code == 2
    assert run.stderr.splitlines()[:6] == [
        "line 3: Bad Slug: slug 'Bad Slug' is not a valid slug: "
        "Use lowercase letters, digits and single hyphens (not at the start or end).",
        "line 4: nameless: a new channel needs a name",
        "line 5: hidden: visibility 'secret' is not one of public, private",
        "line 6: twice: slug 'twice' is also on line 7",
        "line 7: twice: slug 'twice' is also on line 6",
        "line 8: long: name is longer than 100 characters",
    ]
    assert list(
        Channel.objects.filter(tenant=world.tenant_a, slug__in=["fine", "twice", "hidden"]).values_list(
            "slug", flat=True
        )
    ) == ["fine"]


def test_the_bulk_signal_queues_one_outbox_row_per_channel(world):
    OutboxEntry.objects.all().delete()
    ids = [world.public_channel.pk, world.private_channel.pk]
    with transaction.atomic():
        channels_bulk_changed.send(sender=Channel, tenant_id=world.tenant_a.pk, channel_ids=ids)
        channels_bulk_changed.send(sender=Channel, tenant_id=world.tenant_a.pk, channel_ids=ids[:1])
    rows = list(OutboxEntry.objects.values_list("entity_type", "entity_id", "tenant_id", "status"))
    assert sorted(rows) == sorted(
        (EntityType.CHANNEL, str(pk), world.tenant_a.pk, OutboxStatus.PENDING) for pk in ids
    )
