'use client';

import { createContext, useContext, useEffect, useMemo, useState } from 'react';
import { ChannelSearchSource, MessageSearchSource, SearchController, type StreamChat } from 'stream-chat';
import {
  Channel,
  ChannelAvatar,
  type ChannelAvatarProps,
  ChannelHeader,
  ChannelList,
  Chat,
  defaultMessageActionSet,
  MessageActions,
  MessageComposer,
  MessageList,
  Thread,
  useChannelStateContext,
  useChatContext,
  Window,
  WithComponents,
} from 'stream-chat-react';

import { CallAwareMessage, CallButtons, CallsProvider } from '@/calls/Calls';
import { AppHeader } from '@/components/AppHeader';
import { useSession } from '@/lib/session';

import { BrowseChannels } from './BrowseChannels';
import { allowedActions } from './capabilities';
import { MembersPanel } from './MembersPanel';
import { NewConversation } from './NewConversation';
import { useChatClient } from './useChatClient';

function CapabilityMessageActions() {
  const { channelCapabilities } = useChannelStateContext();
  const actions = useMemo(() => allowedActions(defaultMessageActionSet, channelCapabilities), [channelCapabilities]);
  return <MessageActions messageActionSet={actions} />;
}

type Panels = {
  drawerOpen: boolean;
  setDrawerOpen: (open: boolean) => void;
  membersOpen: boolean;
  setMembersOpen: (open: boolean) => void;
};

function ConversationsButton({ panels }: { panels: Panels }) {
  return (
    <button
      type="button"
      className="button button--ghost drawer-toggle"
      aria-label="Conversations"
      aria-expanded={panels.drawerOpen}
      onClick={() => panels.setDrawerOpen(!panels.drawerOpen)}
    >
      ☰
    </button>
  );
}

const PanelsContext = createContext<Panels | null>(null);

/** The header's channel avatar doubles as the button that shows the members. */
function MembersAvatar(props: ChannelAvatarProps) {
  const panels = useContext(PanelsContext);
  return (
    <button
      type="button"
      className="members-toggle"
      aria-label="Members"
      aria-expanded={panels?.membersOpen}
      onClick={() => panels?.setMembersOpen(!panels.membersOpen)}
    >
      <ChannelAvatar {...props} />
    </button>
  );
}

/** Closes the drawer (phone layout) once a conversation opens, however it was opened. */
function CloseDrawerOnSelect({ onSelect }: { onSelect: () => void }) {
  const { channel } = useChatContext();
  useEffect(() => {
    if (channel) onSelect();
  }, [channel, onSelect]);
  return null;
}

function ChatLayout({ client }: { client: StreamChat }) {
  const { user } = useSession();
  const [drawerOpen, setDrawerOpen] = useState(false);
  const [membersOpen, setMembersOpen] = useState(false);
  const [dialog, setDialog] = useState<'new' | 'browse' | null>(null);
  const panels = { drawerOpen, setDrawerOpen, membersOpen, setMembersOpen };

  const searchController = useMemo(
    () =>
      new SearchController({
        // Messages first: the search people reach for. No user source: picking a
        // person there would create a channel from the client; conversations
        // start through the control plane (NewConversation).
        sources: [new MessageSearchSource(client), new ChannelSearchSource(client)],
      }),
    [client],
  );
  const filters = useMemo(
    () => ({ type: 'messaging', members: { $in: [user.chat_user_id] }, ...(user.tenant_slug ? { team: user.tenant_slug } : {}) }),
    [user.chat_user_id, user.tenant_slug],
  );
  const closeDrawer = useMemo(() => () => setDrawerOpen(false), []);

  return (
    <Chat client={client} theme="str-chat__theme-light" searchController={searchController}>
      <CallsProvider client={client}>
      <PanelsContext.Provider value={panels}>
      <div className="app-shell">
        <AppHeader start={<ConversationsButton panels={panels} />} />
        <div className={`chat-layout${drawerOpen ? ' chat-layout--drawer-open' : ''}`}>
          <aside
            className="chat-sidebar"
            aria-label="Conversations"
            onClick={(event) => {
              // Picking the conversation that is already open changes nothing the effect sees.
              if ((event.target as HTMLElement).closest('[role="option"]')) closeDrawer();
            }}
          >
            <div className="chat-sidebar__actions">
              <button type="button" className="button" onClick={() => setDialog('new')}>
                New conversation
              </button>
              <button type="button" className="button" onClick={() => setDialog('browse')}>
                Browse channels
              </button>
            </div>
            <ChannelList
              filters={filters}
              sort={[{ pinned_at: -1 }, { last_updated: -1 }]}
              options={{ state: true, watch: true, presence: true, limit: 30 }}
              showChannelSearch
            />
          </aside>
          <button
            type="button"
            className="chat-drawer-backdrop"
            aria-label="Close conversations"
            tabIndex={-1}
            onClick={closeDrawer}
          />
          <main className="chat-main">
            <CloseDrawerOnSelect onSelect={closeDrawer} />
            <Channel>
              <WithComponents overrides={{ MessageActions: CapabilityMessageActions, MessageUI: CallAwareMessage }}>
                <Window>
                  <div className="channel-header-row">
                    <ChannelHeader Avatar={MembersAvatar} />
                    <CallButtons />
                  </div>
                  <MessageList />
                  <MessageComposer />
                </Window>
                <Thread />
                {membersOpen && <MembersPanel onClose={() => setMembersOpen(false)} />}
              </WithComponents>
            </Channel>
          </main>
        </div>
        <NewConversation open={dialog === 'new'} onClose={() => setDialog(null)} />
        <BrowseChannels open={dialog === 'browse'} onClose={() => setDialog(null)} />
      </div>
      </PanelsContext.Provider>
      </CallsProvider>
    </Chat>
  );
}

export function ChatApp() {
  const { user } = useSession();
  const connection = useChatClient(user.chat_user_id);

  if (connection.state !== 'connected') {
    return (
      <div className="app-shell">
        <AppHeader />
        <main className="page-message" aria-busy={connection.state === 'connecting'}>
          {connection.state === 'connecting' ? <p>Connecting to chat…</p> : <p role="alert">{connection.message}</p>}
        </main>
      </div>
    );
  }
  return <ChatLayout client={connection.client} />;
}
