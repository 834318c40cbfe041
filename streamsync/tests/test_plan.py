"""The sync worker's decisions, on unsaved rows: no database, no chat service."""

from __future__ import annotations

from datetime import UTC, datetime

from accounts.models import User
from channels_app.models import Channel, ChannelKind, ChannelRole, ChannelVisibility
from streamsync import mapping
from streamsync.models import SyncState
from streamsync.plan import (
    ChannelAction,
    channel_creator_id,
    channel_differs,
    channels_needed,
    desired_members,
    plan_channels,
    plan_members,
    plan_users,
    users_needed,
)
from tenants.models import Tenant, TenantStatus
from tenants.roles import Role

ACME = Tenant(name="Acme", slug="acme")
GLOBEX = Tenant(name="Globex", slug="globex")


def _user(tenant: Tenant | None = ACME, **fields) -> User:
    return User(tenant=tenant, email=fields.pop("email", "ada@acme.test"), role=Role.MEMBER, **fields)


def _channel(tenant: Tenant = ACME, **fields) -> Channel:
    fields.setdefault("name", "General")
    fields.setdefault("slug", "general")
    fields.setdefault("visibility", ChannelVisibility.PUBLIC)
    return Channel(tenant=tenant, **fields)


def _sent(user: User, **data) -> SyncState:
    """The state the last sync left for ``user`` as it is now."""
    return SyncState(
        entity_id=str(user.pk),
        digest=mapping.digest(mapping.user_payload(user)),
        data={"deactivated": False, "tokens_revoked_before": None, **data},
    )


# -- users -------------------------------------------------------------------------


def test_a_user_never_sent_is_upserted_and_its_state_recorded():
    user = _user()
    plan = plan_users([str(user.pk)], {str(user.pk): user}, {})
    assert plan.upsert == [mapping.user_payload(user)]
    assert (plan.reactivate, plan.deactivate, plan.revoke, plan.delete) == ([], [], [], [])
    state = plan.states[str(user.pk)]
    assert state.digest == mapping.digest(mapping.user_payload(user))
    assert state.data == {"deactivated": False, "tokens_revoked_before": None}


def test_an_unchanged_user_is_not_sent_again():
    user = _user()
    plan = plan_users([str(user.pk)], {str(user.pk): user}, {str(user.pk): _sent(user)})
    assert (plan.upsert, plan.reactivate, plan.deactivate, plan.revoke) == ([], [], [], [])


def test_a_renamed_user_is_upserted():
    user = _user(full_name="Ada")
    state = _sent(user)
    user.full_name = "Ada Lovelace"
    plan = plan_users([str(user.pk)], {str(user.pk): user}, {str(user.pk): state})
    assert [p["name"] for p in plan.upsert] == ["Ada Lovelace"]


def test_a_deactivated_user_is_deactivated_once():
    user = _user(is_active=False)
    uid = str(user.pk)
    first = plan_users([uid], {uid: user}, {uid: _sent(user)})
    assert first.deactivate == [uid]
    assert first.states[uid].data["deactivated"] is True
    again = plan_users([uid], {uid: user}, {uid: first.states[uid]})
    assert (again.deactivate, again.upsert, again.reactivate) == ([], [], [])


def test_a_suspended_tenant_deactivates_its_users():
    suspended = Tenant(name="Initech", slug="initech", status=TenantStatus.SUSPENDED)
    user = _user(tenant=suspended)
    plan = plan_users([str(user.pk)], {str(user.pk): user}, {})
    assert plan.deactivate == [str(user.pk)]


def test_a_reactivated_user_is_reactivated_then_upserted_when_changed():
    user = _user(full_name="Ada")
    uid = str(user.pk)
    state = _sent(user, deactivated=True)
    unchanged = plan_users([uid], {uid: user}, {uid: state})
    assert (unchanged.reactivate, unchanged.upsert) == ([uid], [])
    user.full_name = "Ada L."
    changed = plan_users([uid], {uid: user}, {uid: state})
    assert changed.reactivate == [uid]
    assert [p["id"] for p in changed.upsert] == [uid]


def test_a_password_change_revokes_tokens_once_but_not_for_a_deactivation():
    at = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    user = _user(sessions_revoked_at=at)
    uid = str(user.pk)
    plan = plan_users([uid], {uid: user}, {uid: _sent(user)})
    assert plan.revoke == [{"id": uid, "set": {"revoke_tokens_issued_before": "2026-03-01T12:00:00+00:00"}}]
    assert plan_users([uid], {uid: user}, {uid: plan.states[uid]}).revoke == []
    user.is_active = False
    assert plan_users([uid], {uid: user}, {uid: _sent(user)}).revoke == []


def test_ids_that_are_no_user_of_ours_are_deleted_and_staff_are_left_alone():
    staff = _user(tenant=None, email="staff@platform.test")
    ids = ["system-acme", str(staff.pk), "b" * 8]
    plan = plan_users(ids, {str(staff.pk): staff}, {})
    assert plan.delete == sorted(["system-acme", "b" * 8])
    assert (plan.upsert, plan.deactivate, plan.states) == ([], [], {})


# -- channels ----------------------------------------------------------------------


def test_channels_are_created_updated_or_left_and_missing_ones_deleted():
    new, renamed, same = (
        _channel(),
        _channel(slug="random", name="Random"),
        _channel(slug="news", name="News"),
    )
    states = {
        str(renamed.pk): SyncState(digest=mapping.digest({**mapping.channel_data(renamed), "name": "Old"})),
        str(same.pk): SyncState(digest=mapping.digest(mapping.channel_data(same)), data={"kept": 1}),
    }
    channels = {str(c.pk): c for c in (new, renamed, same)}
    plan = plan_channels([*channels, "gone-2", "gone-1"], channels, states)
    assert {cid: step.action for cid, step in plan.steps.items()} == {
        str(new.pk): ChannelAction.CREATE,
        str(renamed.pk): ChannelAction.UPDATE,
        str(same.pk): ChannelAction.UNCHANGED,
    }
    assert plan.delete == ["gone-1", "gone-2"]
    step = plan.steps[str(same.pk)]
    assert step.state.data == {"kept": 1}  # what the last sync recorded stays
    assert step.state.digest == mapping.digest(step.data)


def test_a_channel_is_created_by_its_creator_of_the_same_tenant_else_the_system_user():
    ada = _user()
    own = _channel(created_by=ada)
    assert channel_creator_id(own, failed_users=set()) == ada.chat_user_id
    assert channel_creator_id(own, failed_users={str(ada.pk)}) == "system-acme"
    assert channel_creator_id(_channel(created_by=_user(tenant=None)), set()) == "system-acme"
    assert channel_creator_id(_channel(created_by=ada, kind=ChannelKind.DIRECT), set()) == "system-acme"
    assert channel_creator_id(_channel(created_by=None), set()) == "system-acme"


def test_an_existing_channel_differs_on_a_value_or_on_data_it_must_not_have():
    channel = _channel()
    data = mapping.channel_data(channel)
    assert not channel_differs(channel, data, {**data, "team": "another"})  # the team never changes
    assert channel_differs(channel, data, {**data, "name": "Old"})
    direct = _channel(kind=ChannelKind.DIRECT)
    direct_data = mapping.channel_data(direct)
    assert not channel_differs(direct, direct_data, direct_data)
    assert channel_differs(direct, direct_data, {**direct_data, "name": "A name"})


# -- members and what a batch needs ----------------------------------------------------


def test_members_are_added_reassigned_and_removed():
    plan = plan_members(
        desired={
            "a": "channel_member",
            "b": "channel_moderator",
            "c": "channel_member",
            "f": "channel_member",
        },
        current={"b": "channel_member", "c": "channel_member", "d": "channel_member"},
        failed_users={"f"},
    )
    assert plan.add == [{"user_id": "a", "channel_role": "channel_member"}]
    assert plan.assign == [{"user_id": "b", "channel_role": "channel_moderator"}]
    assert plan.remove == ["d"]
    assert plan.failed == {"f": "the user could not be synced"}


def test_a_batch_needs_the_channels_and_users_of_the_members_it_sends():
    ada, bob = _user(), _user(email="bob@acme.test")
    desired = desired_members(
        ["c1", "c2"], [("c1", ada.pk, ChannelRole.MODERATOR), ("c1", bob.pk, ChannelRole.MEMBER)]
    )
    assert desired == {
        "c1": {str(ada.pk): "channel_moderator", str(bob.pk): "channel_member"},
        "c2": {},
    }
    assert channels_needed({"c0"}, ["c1", "c2"], {"c2": SyncState()}) == {"c0", "c1"}

    created_by_ada = _channel(created_by=ada)
    created_by_stranger = _channel(created_by=_user(tenant=GLOBEX, email="g@globex.test"))
    channels = {"new": created_by_ada, "other": created_by_stranger, "sent": _channel(created_by=bob)}
    needed = users_needed(channels, {"sent": SyncState()}, {"c9": {"u1": "channel_member"}})
    assert needed == {str(ada.pk), "u1"}
