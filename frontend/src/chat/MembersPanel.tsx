'use client';

import { useEffect, useReducer } from 'react';
import { Avatar, useChannelStateContext, useChatContext } from 'stream-chat-react';

/** Who is in the open channel, with who is online now (presence events update it). */
export function MembersPanel({ onClose }: { onClose: () => void }) {
  const { client } = useChatContext();
  const { channel } = useChannelStateContext();
  const [, rerender] = useReducer((n: number) => n + 1, 0);

  useEffect(() => {
    const subscriptions = [
      client.on('user.presence.changed', rerender),
      channel.on('member.added', rerender),
      channel.on('member.removed', rerender),
      channel.on('member.updated', rerender),
    ];
    return () => subscriptions.forEach((subscription) => subscription.unsubscribe());
  }, [client, channel]);

  const members = Object.values(channel.state.members).sort((a, b) =>
    (a.user?.name ?? a.user_id ?? '').localeCompare(b.user?.name ?? b.user_id ?? ''),
  );
  return (
    <aside className="members-panel" aria-label="Members">
      <div className="members-panel__header">
        <h2>Members ({members.length})</h2>
        <button type="button" className="button button--ghost" onClick={onClose} aria-label="Close members">
          ✕
        </button>
      </div>
      <ul>
        {members.map((member) => {
          const online = member.user?.online === true;
          const name = member.user?.name || member.user_id || 'Unknown';
          return (
            <li key={member.user_id} className="members-panel__member">
              <Avatar imageUrl={member.user?.image as string | undefined} userName={name} size="sm" isOnline={online} />
              <span className="members-panel__name">
                {name}
                {member.user_id === client.userID ? ' (you)' : ''}
              </span>
              {member.channel_role === 'channel_moderator' && <span className="badge">Moderator</span>}
              <span className={`presence presence--${online ? 'online' : 'offline'}`}>{online ? 'Online' : 'Offline'}</span>
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
