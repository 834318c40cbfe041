'use client';

import { createContext, type ReactNode, useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { StreamChat } from 'stream-chat';
import { MessageUI, type MessageUIComponentProps, useChannelStateContext, useMessageContext } from 'stream-chat-react';

import { useSession } from '@/lib/session';

import { type CallKind, CallManager, formatDuration, type PeerView, type Snapshot } from './session';

type Calls = { manager: CallManager; state: Snapshot };

const CallsContext = createContext<Calls | null>(null);

const CALL_BUTTONS: { kind: CallKind; icon: string }[] = [
  { kind: 'audio', icon: '📞' },
  { kind: 'video', icon: '🎥' },
];

function useCalls(): Calls | null {
  return useContext(CallsContext);
}

/** One call manager per chat connection; the prompt and the call view float above the chat. */
export function CallsProvider({ client, children }: { client: StreamChat; children: ReactNode }) {
  const [manager] = useState(() => new CallManager(client));
  const state = useSyncExternalStore(manager.subscribe, manager.getSnapshot, manager.getSnapshot);

  useEffect(() => {
    window.addEventListener('pagehide', manager.leaveOnPageHide);
    return () => {
      window.removeEventListener('pagehide', manager.leaveOnPageHide);
      manager.dispose();
    };
  }, [manager]);

  return (
    <CallsContext.Provider value={{ manager, state }}>
      {children}
      <IncomingCall />
      <CallPanel />
    </CallsContext.Provider>
  );
}

/** Audio and video call buttons for the channel header. */
export function CallButtons() {
  const { user } = useSession();
  const calls = useCalls();
  const { channel } = useChannelStateContext();
  if (!calls || !user.calls?.enabled) return null;
  const busy = calls.state.call !== null && calls.state.call.status !== 'ended';
  return (
    <div className="call-buttons">
      {CALL_BUTTONS.map(({ kind, icon }) => (
        <button
          key={kind}
          type="button"
          className="button button--ghost"
          aria-label={`Start ${kind} call`}
          data-testid={`call-${kind}`}
          disabled={busy}
          onClick={() => void calls.manager.start(channel, kind)}
        >
          {icon}
        </button>
      ))}
    </div>
  );
}

function IncomingCall() {
  const calls = useCalls();
  const ref = useRef<HTMLDialogElement>(null);
  const incoming = calls?.state.incoming ?? null;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (incoming && !dialog.open) dialog.showModal();
    if (!incoming && dialog.open) dialog.close();
  }, [incoming]);

  return (
    <dialog
      ref={ref}
      className="dialog incoming-call"
      aria-labelledby="incoming-call-title"
      data-testid="incoming-call"
      onCancel={(event) => {
        event.preventDefault();
        void calls?.manager.decline();
      }}
    >
      {incoming && (
        <>
          <h2 id="incoming-call-title">
            {incoming.callerName} is calling ({incoming.kind === 'video' ? 'video' : 'audio'})
          </h2>
          <p>in {incoming.channelName}</p>
          <div className="incoming-call__actions">
            <button type="button" className="button button--danger" onClick={() => void calls?.manager.decline()}>
              Decline
            </button>
            <button type="button" className="button button--primary" onClick={() => void calls?.manager.accept()}>
              Accept
            </button>
          </div>
        </>
      )}
    </dialog>
  );
}

function Video({ stream, muted, testId, label }: { stream: MediaStream | null; muted: boolean; testId: string; label: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const video = ref.current;
    if (video && video.srcObject !== stream) video.srcObject = stream;
  }, [stream]);
  return <video ref={ref} autoPlay playsInline muted={muted} data-testid={testId} aria-label={label} />;
}

function RemoteTile({ peer }: { peer: PeerView }) {
  return (
    <figure
      className="call-tile"
      data-testid="remote-tile"
      data-user-id={peer.userId}
      data-muted={String(!peer.audio)}
      data-camera={String(peer.video)}
      data-connection={peer.connection}
    >
      <Video stream={peer.stream} muted={false} testId="remote-video" label={`${peer.name}'s video`} />
      <figcaption>
        {peer.name}
        {!peer.audio && <span className="call-tile__badge"> · muted</span>}
        {!peer.video && <span className="call-tile__badge"> · camera off</span>}
      </figcaption>
    </figure>
  );
}

function CallPanel() {
  const calls = useCalls();
  const call = calls?.state.call ?? null;
  const error = calls?.state.error ?? null;
  if (!calls || (!call && !error)) return null;
  const { manager } = calls;

  if (!call) {
    return (
      <section className="call-view call-view--ended" aria-label="Call" data-testid="call-view">
        <p role="alert">Call failed: {error}</p>
        <button type="button" className="button" onClick={() => manager.dismiss()}>
          Close
        </button>
      </section>
    );
  }
  const ended = call.status === 'ended';
  const status = ended
    ? call.endReason ?? 'Call ended'
    : call.status === 'ringing'
      ? 'Ringing…'
      : call.peers.length === 0
        ? 'Connecting…'
        : `${call.peers.length + 1} in the call`;

  return (
    <section
      className={`call-view${ended ? ' call-view--ended' : ''}`}
      aria-label="Call"
      data-testid="call-view"
      data-call-id={call.id}
      data-status={call.status}
    >
      <header className="call-view__header">
        <strong>{call.channelName}</strong>
        <span role="status" data-testid="call-status">
          {status}
        </span>
      </header>
      {error && (
        <p role="alert" className="call-view__error">
          {error}
        </p>
      )}
      {!ended && (
        <div className="call-tiles">
          <figure className="call-tile call-tile--local" data-testid="local-tile">
            <Video stream={call.local} muted testId="local-video" label="Your video" />
            <figcaption>You{!call.micOn && ' · muted'}</figcaption>
          </figure>
          {call.peers.map((peer) => (
            <RemoteTile key={peer.userId} peer={peer} />
          ))}
        </div>
      )}
      <div className="call-controls">
        {ended ? (
          <button type="button" className="button" onClick={() => manager.dismiss()}>
            Close
          </button>
        ) : (
          <>
            <button type="button" className="button" aria-pressed={!call.micOn} onClick={() => manager.toggleMic()}>
              {call.micOn ? 'Mute microphone' : 'Unmute microphone'}
            </button>
            {call.kind === 'video' && (
              <button type="button" className="button" aria-pressed={!call.camOn} onClick={() => manager.toggleCamera()}>
                {call.camOn ? 'Camera off' : 'Camera on'}
              </button>
            )}
            <button
              type="button"
              className="button"
              aria-pressed={call.sharing}
              onClick={() => void manager.toggleScreen()}
            >
              {call.sharing ? 'Stop sharing' : 'Share screen'}
            </button>
            <button type="button" className="button button--danger" onClick={() => void manager.hangUp()}>
              Hang up
            </button>
          </>
        )}
      </div>
    </section>
  );
}

/** Messages that record a call render as a line in the conversation, not a bubble. */
export function CallAwareMessage(props: MessageUIComponentProps) {
  const { message } = useMessageContext();
  const record = message.call;
  if (!record) return <MessageUI {...props} />;
  const who = message.user?.name || message.user?.id || 'Someone';
  const kind = record.kind === 'video' ? 'video' : 'audio';
  const text =
    record.action === 'started'
      ? `${who} started ${kind === 'video' ? 'a video' : 'an audio'} call`
      : record.duration_s
        ? `${kind === 'video' ? 'Video' : 'Audio'} call ended · ${formatDuration(record.duration_s)}`
        : `${kind === 'video' ? 'Video' : 'Audio'} call ended · not answered`;
  return (
    <div className="call-record" data-testid="call-record" data-action={record.action} role="note">
      {record.kind === 'video' ? '🎥' : '📞'} {text}
    </div>
  );
}
