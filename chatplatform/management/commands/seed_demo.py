"""Demo data for a first run: two organizations with people, channels and a
direct conversation.

Idempotent: a second run finds everything in place and changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from accounts.services import user_create
from channels_app.models import Channel
from channels_app.services import channel_create, channel_direct_start
from tenants.models import Tenant
from tenants.roles import Role
from tenants.services import tenant_create

DEMO_PASSWORD = "demo-chat-2026"  # noqa: S105  (printed for the demo on purpose)
STAFF_EMAIL = "staff@demo.test"

ORGANIZATIONS: list[dict[str, Any]] = [
    {
        "name": "Acme Corporation",
        "slug": "acme",
        "people": [
            ("alice@acme.test", "Alice Admin", Role.ADMIN),
            ("mike@acme.test", "Mike Moderator", Role.MODERATOR),
            ("mary@acme.test", "Mary Member", Role.MEMBER),
            ("max@acme.test", "Max Member", Role.MEMBER),
        ],
        "channels": [
            ("general", "General", "public", "Company-wide announcements and chat."),
            ("random", "Random", "public", "Off-topic."),
            ("leadership", "Leadership", "private", "Admins and moderators."),
        ],
        # Direct conversations: who starts each, with whom.
        "conversations": [("mary@acme.test", ["max@acme.test"])],
    },
    {
        "name": "Globex Inc.",
        "slug": "globex",
        "people": [
            ("gina@globex.test", "Gina Admin", Role.ADMIN),
            ("gus@globex.test", "Gus Moderator", Role.MODERATOR),
            ("greta@globex.test", "Greta Member", Role.MEMBER),
        ],
        "channels": [
            ("general", "General", "public", "Everyone at Globex."),
            ("engineering", "Engineering", "public", "Builders."),
        ],
    },
]


class Command(BaseCommand):
    help = "Load demo tenants, users and channels (idempotent) and print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            created = self._seed()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} objects created)."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        self.stdout.write(f"  {STAFF_EMAIL:<22} platform staff (admin console at /admin/)")
        for org in ORGANIZATIONS:
            for email, _name, role in org["people"]:
                self.stdout.write(f"  {email:<22} {role} of {org['slug']}")

    def _seed(self) -> int:
        created = 0
        if not User.objects.filter(email=STAFF_EMAIL).exists():
            staff = user_create(
                tenant=None,
                email=STAFF_EMAIL,
                full_name="Platform Staff",
                password=DEMO_PASSWORD,
                is_staff=True,
            )
            staff.is_superuser = True
            staff.save(update_fields=["is_superuser"])
            created += 1
        for org in ORGANIZATIONS:
            tenant = Tenant.objects.filter(slug=org["slug"]).first()
            if tenant is None:
                tenant = tenant_create(name=org["name"], slug=org["slug"])
                created += 1
            users: dict[str, list[User]] = {}
            for email, full_name, role in org["people"]:
                user = User.objects.filter(email=email).first()
                if user is None:
                    user = user_create(
                        tenant=tenant, email=email, full_name=full_name, role=role, password=DEMO_PASSWORD
                    )
                    created += 1
                users[role] = [*users.get(role, []), user]
            admin = users[Role.ADMIN][0]
            everyone = [u.pk for group in users.values() for u in group]
            managers = [u.pk for u in users[Role.ADMIN] + users.get(Role.MODERATOR, [])]
            for slug, name, visibility, description in org["channels"]:
                if Channel.objects.filter(tenant=tenant, slug=slug).exists():
                    continue
                channel_create(
                    tenant=tenant,
                    name=name,
                    slug=slug,
                    description=description,
                    visibility=visibility,
                    created_by=admin,
                    member_ids=managers if visibility == "private" else everyone,
                )
                created += 1
            for starter, others in org.get("conversations", []):
                _channel, new = channel_direct_start(
                    creator=User.objects.get(email=starter),
                    user_ids=User.objects.filter(email__in=others).values_list("pk", flat=True),
                )
                created += new
        return created
