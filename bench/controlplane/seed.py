"""Seed the benchmark database with ``COPY``: three tenants, the large one with
50,000 users and 10,000 channels whose members are spread the way real ones
are (each user in 5 to 20 channels, popularity falling off as a power law, so
a handful of channels hold most people and the largest about 39,000).

A seeded database is recognised and kept: seeding again takes a minute or two,
so runs reuse it. ``--reseed`` starts over.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Every benchmark account logs in with this password.
PASSWORD = "bench-password-0123"

FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Sandra",
    "Mark",
    "Margaret",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "George",
    "Deborah",
    "Timothy",
    "Stephanie",
    "Zoë",
    "Åsa",
    "Jürgen",
    "Siobhán",
    "Mateo",
    "Léa",
    "Kenji",
    "Aiko",
    "Oluwaseun",
    "Chidi",
    "Priya",
    "Arjun",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Müller",
    "Schmidt",
    "Nakamura",
    "Okafor",
    "Patel",
    "Kowalski",
    "Novák",
    "Lindqvist",
    "Ødegaard",
]
WORDS = [
    "alpha",
    "bravo",
    "delta",
    "echo",
    "foxtrot",
    "kilo",
    "lima",
    "oscar",
    "sierra",
    "tango",
    "victor",
    "yankee",
    "zulu",
    "north",
    "south",
    "east",
    "west",
    "design",
    "sales",
    "support",
    "infra",
    "data",
    "mobile",
    "web",
    "billing",
    "growth",
    "legal",
    "finance",
    "people",
    "ops",
    "security",
    "platform",
    "research",
    "devrel",
    "hiring",
    "events",
    "social",
    "random",
    "releases",
    "incidents",
]


@dataclass(frozen=True)
class TenantSpec:
    slug: str
    name: str
    users: int
    channels: int


TENANTS = (
    TenantSpec("bench-large", "Large Co", 50_000, 10_000),
    TenantSpec("bench-small", "Small Co", 200, 40),
    TenantSpec("bench-tiny", "Tiny Co", 20, 5),
)
# Ids are derived from names, so every run finds the same rows.
_NS = uuid.UUID("7a1f0c9e-3d1b-4c8e-9a57-0b6f3c2d1e4f")


def tenant_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(_NS, f"tenant:{slug}")


def user_id(slug: str, index: int) -> uuid.UUID:
    return uuid.uuid5(_NS, f"user:{slug}:{index}")


def channel_id(slug: str, index: int) -> uuid.UUID:
    return uuid.uuid5(_NS, f"channel:{slug}:{index}")


def email(slug: str, index: int) -> str:
    # Users 0, 1 and 2 of every tenant are its admin, a moderator and a plain member.
    return f"u{index:05d}@{slug}.example"


def role_of(index: int) -> str:
    if index == 0 or index % 500 == 7:
        return "admin"
    if index == 1 or index % 100 == 3:
        return "moderator"
    return "member"


def is_seeded(cursor: object) -> bool:
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT count(*) FROM tenants_tenant WHERE id = ANY(%s)", [[tenant_id(t.slug) for t in TENANTS]]
    )
    return cursor.fetchone()[0] == len(TENANTS)  # type: ignore[attr-defined]


def _memberships(spec: TenantSpec, rng: random.Random) -> Iterator[tuple[int, int, str]]:
    """(user, channel, role): each user in 5 to 20 channels (fewer in a tiny
    tenant), channel k chosen with weight 1/(k+1)^1.1: channel 0 ends up with ~78%."""
    weights = [1.0 / (k + 1) ** 1.1 for k in range(spec.channels)]
    total = sum(weights)
    cumulative = []
    running = 0.0
    for w in weights:
        running += w / total
        cumulative.append(running)
    for u in range(spec.users):
        want = min(rng.randint(5, 20), spec.channels)
        chosen: set[int] = set()
        while len(chosen) < want:
            chosen.update(rng.choices(range(spec.channels), cum_weights=cumulative, k=want - len(chosen)))
        for c in chosen:
            yield u, c, "moderator" if u % 50 == 1 else "member"


def _copy(cursor: object, table: str, columns: str, rows: Iterable[tuple[object, ...]]) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def seed(*, reseed: bool = False, log: object = print) -> None:
    """Load the three tenants (unless already there) and refresh the planner's statistics."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        if is_seeded(cursor) and not reseed:
            log("seed: the benchmark tenants are there; reusing them")
            return
    password = make_password(PASSWORD)  # one production hash, shared by every account
    now = datetime.now(tz=UTC)
    rng = random.Random(20261202)
    with transaction.atomic(), raw.cursor() as cursor:
        ids = [tenant_id(t.slug) for t in TENANTS]
        cursor.execute(
            "DELETE FROM channels_app_membership WHERE channel_id IN "
            "(SELECT id FROM channels_app_channel WHERE tenant_id = ANY(%s))",
            [ids],
        )
        cursor.execute("DELETE FROM channels_app_channel WHERE tenant_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM accounts_user WHERE tenant_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM tenants_tenant WHERE id = ANY(%s)", [ids])
        for spec in TENANTS:
            t_id = tenant_id(spec.slug)
            cursor.execute(
                "INSERT INTO tenants_tenant (id, name, slug, status, calls_enabled, created_at, updated_at)"
                " VALUES (%s, %s, %s, 'active', true, %s, %s)",
                [t_id, spec.name, spec.slug, now, now],
            )
            users = _copy(
                cursor,
                "accounts_user",
                "id, tenant_id, email, full_name, role, is_active, is_staff, is_superuser, password,"
                " created_at, updated_at",
                (
                    (
                        user_id(spec.slug, i),
                        t_id,
                        email(spec.slug, i),
                        f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                        role_of(i),
                        True,
                        False,
                        False,
                        password,
                        now - timedelta(minutes=i),
                        now,
                    )
                    for i in range(spec.users)
                ),
            )
            channels = _copy(
                cursor,
                "channels_app_channel",
                "id, tenant_id, slug, name, description, visibility, kind, direct_key, created_by_id,"
                " created_at, updated_at",
                (
                    (
                        channel_id(spec.slug, c),
                        t_id,
                        f"{WORDS[c % len(WORDS)]}-{c}",
                        f"{WORDS[(c * 7) % len(WORDS)].title()} {WORDS[c % len(WORDS)]} {c}",
                        "",
                        "private" if c % 5 == 4 else "public",
                        "channel",
                        "",
                        user_id(spec.slug, 0),
                        now - timedelta(hours=c),
                        now,
                    )
                    for c in range(spec.channels)
                ),
            )
            memberships = _copy(
                cursor,
                "channels_app_membership",
                "channel_id, user_id, role, created_at, updated_at",
                (
                    (channel_id(spec.slug, c), user_id(spec.slug, u), role, now, now)
                    for u, c, role in _memberships(spec, rng)
                ),
            )
            log(f"seed: {spec.slug}: {users} users, {channels} channels, {memberships} memberships")
    raw.autocommit = True
    with raw.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    log("seed: vacuumed and analyzed")
