'use client';

import { useState } from 'react';
import { useChatContext } from 'stream-chat-react';

import { Dialog, ErrorText } from '@/components/Dialog';
import { api, type Channel } from '@/lib/api';
import { messageOf } from '@/lib/errors';
import { useLoad } from '@/lib/hooks';
import { useSession } from '@/lib/session';

import { channelWhenSynced } from './openChannel';

/** The tenant's public channels the user has not joined, to join one. */
export function BrowseChannels({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { user } = useSession();
  const { client, setActiveChannel } = useChatContext();
  const listed = useLoad(
    () => (open ? api.channels({ joined: false, visibility: 'public', kind: 'channel', page_size: 100 }) : Promise.resolve(null)),
    [open],
  );
  const channels = open ? (listed.data?.results ?? null) : null;
  const [error, setError] = useState<string | null>(null);
  const [joining, setJoining] = useState<string | null>(null);

  const join = async (channel: Channel) => {
    setJoining(channel.id);
    setError(null);
    try {
      await api.channelJoin(channel.id);
      await setActiveChannel(await channelWhenSynced(client, channel.cid, user.chat_user_id));
      onClose();
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setJoining(null);
    }
  };

  return (
    <Dialog title="Browse channels" open={open} onClose={onClose}>
      <ErrorText error={error ?? listed.error} />
      {channels === null && !listed.error && <p aria-busy="true">Loading…</p>}
      {channels?.length === 0 && <p className="muted">You are in every public channel.</p>}
      <ul className="browse">
        {channels?.map((channel) => (
          <li key={channel.id} className="browse__channel">
            <div>
              <strong># {channel.name}</strong>
              <span className="muted">
                {' '}
                · {channel.member_count} {channel.member_count === 1 ? 'member' : 'members'}
              </span>
              {channel.description && <p className="muted">{channel.description}</p>}
            </div>
            <button
              type="button"
              className="button"
              onClick={() => void join(channel)}
              disabled={joining !== null}
              aria-label={`Join ${channel.name}`}
            >
              {joining === channel.id ? 'Joining…' : 'Join'}
            </button>
          </li>
        ))}
      </ul>
    </Dialog>
  );
}
