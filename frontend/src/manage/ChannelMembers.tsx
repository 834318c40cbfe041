'use client';

import { useState } from 'react';

import { Dialog, ErrorText } from '@/components/Dialog';
import { api, type Channel, type ChannelRole } from '@/lib/api';
import { useAction, useDebounced, useLoad } from '@/lib/hooks';

/** A channel's members: add people from the directory, set their channel role, remove them. */
export function ChannelMembers({ channel, onClose }: { channel: Channel; onClose: () => void }) {
  const members = useLoad(() => api.channelMembers(channel.id), [channel.id]);
  const [search, setSearch] = useState('');
  const term = useDebounced(search);
  const candidates = useLoad(
    () => (term ? api.users({ search: term, is_active: true, page_size: 10 }) : Promise.resolve(null)),
    [term],
  );
  const action = useAction();
  const memberIds = new Set(members.data?.results.map((m) => m.user.id));
  const run = (change: () => Promise<unknown>) => void action.run(change).then((ok) => ok && members.reload());

  return (
    <Dialog title={`Members of #${channel.name}`} open onClose={onClose}>
      <ErrorText error={action.error ?? members.error} />
      <ul className="member-list">
        {members.data?.results.map(({ user, role }) => {
          const name = user.full_name || user.email;
          return (
            <li key={user.id}>
              <span>{name}</span>
              <select
                aria-label={`Channel role of ${name}`}
                value={role}
                disabled={action.busy}
                onChange={(event) => run(() => api.channelMembersAdd(channel.id, [user.id], event.target.value as ChannelRole))}
              >
                <option value="member">Member</option>
                <option value="moderator">Channel moderator</option>
              </select>
              <button
                type="button"
                className="button"
                disabled={action.busy}
                aria-label={`Remove ${name}`}
                onClick={() => run(() => api.channelMemberRemove(channel.id, user.id))}
              >
                Remove
              </button>
            </li>
          );
        })}
      </ul>
      <label className="field">
        <span>Add people</span>
        <input type="search" value={search} onChange={(event) => setSearch(event.target.value)} placeholder="Name or email" />
      </label>
      <ul className="member-list">
        {candidates.data?.results
          .filter((person) => !memberIds.has(person.id))
          .map((person) => {
            const name = person.full_name || person.email;
            return (
              <li key={person.id}>
                <span>
                  {name} <span className="muted">{person.email}</span>
                </span>
                <button
                  type="button"
                  className="button"
                  disabled={action.busy}
                  aria-label={`Add ${name}`}
                  onClick={() => run(() => api.channelMembersAdd(channel.id, [person.id]))}
                >
                  Add
                </button>
              </li>
            );
          })}
      </ul>
    </Dialog>
  );
}
