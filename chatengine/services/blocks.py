"""Blocking users (Stream's ``POST /users/block`` and ``/users/unblock``).

A block is the blocker's own: it changes nothing for the blocked user's view
and nothing in group channels. It acts in the conversations of just the two of
them (channels whose only members are the blocker and the blocked user),
where, as Stream describes it, the blocker stops hearing from the blocked user:

- blocking hides those conversations for the blocker (``channel.hidden`` to
  its sockets) and unblocking shows them again; their state says
  ``blocked: true`` to the blocker meanwhile, with all their messages;
- there, the blocked user's new messages do not count as unread for the
  blocker and reach it neither as ``message.new`` nor as a notification, and
  nothing else the blocked user does there (edits, deletes, reactions,
  typing, reads) reaches the blocker's sockets (``selectors.blockers_in``);
- a blocked user cannot add its blocker to a channel from a client: the
  blocker is left out and the rest are added (``members.members_add``).

Stream applies this to its distinct channels only; here any conversation of
the two counts, because the control plane's direct conversations are channels
with ids of their own.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from chatengine.models import ChatUser, UserBlock
from chatengine.selectors import conversations_of
from chatengine.services.channel_removal import channel_set_hidden


@transaction.atomic
def user_block(*, user: ChatUser, target: ChatUser) -> UserBlock:
    """``user`` blocks ``target``: a user ``user`` may reach (its teams'), not
    itself. Blocking again changes nothing and returns the first block."""
    block, created = UserBlock.objects.get_or_create(
        user=user, target=target, defaults={"created_at": timezone.now()}
    )
    if created:
        for channel in conversations_of(user, target.id):
            channel_set_hidden(channel=channel, user=user, hidden=True)
    return block


@transaction.atomic
def user_unblock(*, user: ChatUser, target_id: str) -> None:
    """Lift ``user``'s block of ``target_id``, if there is one, and show their
    conversations to ``user`` again."""
    deleted, _ = UserBlock.objects.filter(user=user, target_id=target_id).delete()
    if deleted:
        for channel in conversations_of(user, target_id):
            channel_set_hidden(channel=channel, user=user, hidden=False)
