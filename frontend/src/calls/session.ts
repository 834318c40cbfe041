// Calls: a WebRTC mesh between the participants' browsers, signaled through
// custom events of the call's channel (channel.sendEvent). Nothing here relays
// media; the chat service carries only the offers, answers and candidates, so
// the same code runs against the built-in engine and Stream's cloud.
//
// Protocol (every event carries call_id and from; offer/answer/ice carry to):
//   webrtc-ring     the caller rings the channel (kind, started_at)
//   webrtc-accept   someone joins; of each pair the smaller user id offers (an
//                   accept addressed "to" someone: "I am in the call, offer to me")
//   webrtc-decline  someone declines; the caller ends when everyone declined
//   webrtc-offer / webrtc-answer / webrtc-ice   one pair's negotiation
//   webrtc-state    microphone and camera on or off
//   webrtc-hangup   someone leaves (reason "full": a participant refuses a joiner)
// The participant left alone posts the call's end record.
import type { Channel, Event, StreamChat } from 'stream-chat';

import { api } from '@/lib/api';

export type CallKind = 'audio' | 'video';

/** The custom field of a call record message. */
export type CallRecord = { id: string; kind: CallKind; action: 'started' | 'ended'; duration_s?: number };

declare module 'stream-chat' {
  interface CustomMessageData {
    call?: CallRecord;
  }
  interface CustomEventData {
    call_id?: string;
    from?: string;
    to?: string;
    kind?: string;
    sdp?: string;
    candidate?: RTCIceCandidateInit;
    candidates?: RTCIceCandidateInit[];
    audio?: boolean;
    video?: boolean;
    reason?: string;
    started_at?: string;
  }
  interface CustomEventTypes {
    'webrtc-ring': true;
    'webrtc-accept': true;
    'webrtc-decline': true;
    'webrtc-offer': true;
    'webrtc-answer': true;
    'webrtc-ice': true;
    'webrtc-state': true;
    'webrtc-hangup': true;
  }
}

export type PeerView = {
  userId: string;
  name: string;
  stream: MediaStream | null;
  audio: boolean;
  video: boolean;
  connection: RTCPeerConnectionState;
};

export type CallView = {
  id: string;
  cid: string;
  channelName: string;
  kind: CallKind;
  status: 'ringing' | 'active' | 'ended';
  endReason: string | null;
  local: MediaStream | null;
  micOn: boolean;
  camOn: boolean;
  sharing: boolean;
  peers: PeerView[];
};

export type Incoming = { id: string; cid: string; kind: CallKind; callerId: string; callerName: string; channelName: string };

export type Snapshot = { call: CallView | null; incoming: Incoming | null; error: string | null };

// pending: candidates received before the remote description; outbox: ours,
// held until our offer or answer went out (the chat service may deliver two
// events in the other order when they leave in parallel).
type Peer = PeerView & {
  pc: RTCPeerConnection;
  pending: RTCIceCandidateInit[];
  outbox: RTCIceCandidateInit[] | null;
};

type ActiveCall = {
  id: string;
  channel: Channel;
  kind: CallKind;
  callerId: string;
  startedAt: number;
  status: CallView['status'];
  endReason: string | null;
  config: RTCConfiguration;
  maxParticipants: number;
  local: MediaStream;
  camera: MediaStreamTrack | null;
  screen: MediaStreamTrack | null;
  micOn: boolean;
  camOn: boolean;
  peers: Map<string, Peer>;
  declined: Set<string>;
  everJoined: boolean;
  timer: ReturnType<typeof setTimeout> | null;
};

const RING_SECONDS = 45;
const ENDED_VISIBLE_MS = 4000;
const SIGNAL = 'webrtc-';

function newId(): string {
  return crypto.randomUUID();
}

function channelName(channel: Channel): string {
  const name = (channel.data as { name?: unknown } | undefined)?.name;
  return (typeof name === 'string' && name) || channel.id || 'this conversation';
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value ? value : null;
}

export class CallManager {
  private call: ActiveCall | null = null;
  private incoming: (Incoming & { channel: Channel; timer: ReturnType<typeof setTimeout> }) | null = null;
  private error: string | null = null;
  private snapshot: Snapshot = { call: null, incoming: null, error: null };
  private listeners = new Set<() => void>();
  private unsubscribe: () => void;

  constructor(private readonly client: StreamChat) {
    const { unsubscribe } = client.on((event) => {
      if (typeof event.type === 'string' && event.type.startsWith(SIGNAL)) void this.onSignal(event);
    });
    this.unsubscribe = unsubscribe;
  }

  private get me(): string {
    return this.client.userID ?? '';
  }

  // ------------------------------------------------------------------ store
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): Snapshot => this.snapshot;

  private emit(): void {
    const call = this.call;
    this.snapshot = {
      error: this.error,
      incoming: this.incoming
        ? {
            id: this.incoming.id,
            cid: this.incoming.cid,
            kind: this.incoming.kind,
            callerId: this.incoming.callerId,
            callerName: this.incoming.callerName,
            channelName: this.incoming.channelName,
          }
        : null,
      call: call
        ? {
            id: call.id,
            cid: call.channel.cid,
            channelName: channelName(call.channel),
            kind: call.kind,
            status: call.status,
            endReason: call.endReason,
            local: call.local,
            micOn: call.micOn,
            camOn: call.camOn,
            sharing: call.screen !== null,
            peers: [...call.peers.values()].map(({ userId, name, stream, audio, video, connection }) => ({
              userId,
              name,
              stream,
              audio,
              video,
              connection,
            })),
          }
        : null,
    };
    for (const listener of this.listeners) listener();
  }

  dispose(): void {
    this.unsubscribe();
    if (this.call && this.call.status !== 'ended') void this.hangUp();
  }

  // --------------------------------------------------------------- actions
  /** Ring the channel and wait for people to join. */
  async start(channel: Channel, kind: CallKind): Promise<void> {
    if (this.call && this.call.status !== 'ended') return;
    this.error = null;
    const id = newId();
    try {
      const call = await this.prepare(id, channel, kind, this.me, Date.now());
      this.call = call;
      call.status = 'ringing';
      call.timer = setTimeout(() => {
        if (this.call === call && !call.everJoined) void this.finish('No answer', true);
      }, RING_SECONDS * 1000);
      this.emit();
      await this.send(call, 'webrtc-ring', { kind, started_at: new Date(call.startedAt).toISOString() });
      const name = this.client.user?.name ?? this.me;
      await channel.sendMessage({
        text: `${name} started ${kind === 'video' ? 'a video' : 'an audio'} call`,
        call: { id, kind, action: 'started' },
      });
    } catch (caught) {
      this.fail(caught);
    }
  }

  async accept(): Promise<void> {
    const ring = this.incoming;
    if (!ring) return;
    this.clearIncoming();
    if (this.call && this.call.status !== 'ended') await this.hangUp();
    this.error = null;
    try {
      const call = await this.prepare(ring.id, ring.channel, ring.kind, ring.callerId, Date.now());
      this.call = call;
      call.status = 'active';
      this.emit();
      await this.send(call, 'webrtc-accept', {});
    } catch (caught) {
      this.fail(caught);
    }
  }

  async decline(): Promise<void> {
    const ring = this.incoming;
    if (!ring) return;
    this.clearIncoming();
    this.emit();
    await ring.channel
      .sendEvent({ type: 'webrtc-decline', call_id: ring.id, from: this.me } as Event)
      .catch(() => undefined);
  }

  async hangUp(): Promise<void> {
    const call = this.call;
    if (!call || call.status === 'ended') return;
    // A ringing call's hang-up goes out in finish(), which also dismisses the prompts.
    if (call.status !== 'ringing') await this.send(call, 'webrtc-hangup', {}).catch(() => undefined);
    // The end record is ours when nobody else is left: a ring nobody answered, or the last one out.
    const last = call.peers.size === 0 && (call.everJoined || call.callerId === this.me);
    await this.finish('You left', last);
  }

  /** Leaving with the tab: a request that outlives the page, in the SDK's own format. */
  leaveOnPageHide = (): void => {
    const call = this.call;
    if (!call || call.status === 'ended') return;
    const channel = call.channel;
    const token = this.client._getToken();
    const url =
      `${this.client.baseURL}/channels/${encodeURIComponent(channel.type)}/${encodeURIComponent(channel.id ?? '')}` +
      `/event?api_key=${encodeURIComponent(this.client.key)}&user_id=${encodeURIComponent(this.me)}`;
    if (token) {
      void fetch(url, {
        method: 'POST',
        keepalive: true,
        headers: { 'Content-Type': 'application/json', Authorization: token, 'stream-auth-type': 'jwt' },
        body: JSON.stringify({ event: { type: 'webrtc-hangup', call_id: call.id, from: this.me } }),
      }).catch(() => undefined);
    }
    this.teardown(call);
  };

  toggleMic(): void {
    const call = this.call;
    if (!call) return;
    call.micOn = !call.micOn;
    for (const track of call.local.getAudioTracks()) track.enabled = call.micOn;
    this.emit();
    void this.sendState(call);
  }

  toggleCamera(): void {
    const call = this.call;
    if (!call || !call.camera) return;
    call.camOn = !call.camOn;
    call.camera.enabled = call.camOn;
    this.emit();
    void this.sendState(call);
  }

  async toggleScreen(): Promise<void> {
    const call = this.call;
    if (!call) return;
    if (call.screen) {
      this.stopScreen(call);
      return;
    }
    try {
      const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      const [track] = display.getVideoTracks();
      if (!track || this.call !== call) return;
      call.screen = track;
      track.addEventListener('ended', () => this.stopScreen(call));
      this.setVideoTrack(call, track);
      this.emit();
      void this.sendState(call);
    } catch (caught) {
      if (!(caught instanceof DOMException && caught.name === 'NotAllowedError')) this.fail(caught, false);
    }
  }

  dismiss(): void {
    if (this.call?.status === 'ended') this.call = null;
    this.error = null;
    this.emit();
  }

  // ---------------------------------------------------------------- set-up
  private async prepare(
    id: string,
    channel: Channel,
    kind: CallKind,
    callerId: string,
    startedAt: number,
  ): Promise<ActiveCall> {
    const ice = await api.iceServers();
    const local = await navigator.mediaDevices.getUserMedia({ audio: true, video: kind === 'video' });
    const camera = local.getVideoTracks()[0] ?? null;
    return {
      id,
      channel,
      kind,
      callerId,
      startedAt,
      status: 'ringing',
      endReason: null,
      config: { iceServers: ice.ice_servers, iceTransportPolicy: ice.ice_transport_policy },
      maxParticipants: ice.max_participants,
      local,
      camera,
      screen: null,
      micOn: true,
      camOn: camera !== null,
      peers: new Map(),
      declined: new Set(),
      everJoined: false,
      timer: null,
    };
  }

  private peer(call: ActiveCall, userId: string, name: string): Peer {
    const existing = call.peers.get(userId);
    if (existing) return existing;
    const pc = new RTCPeerConnection(call.config);
    const peer: Peer = {
      userId,
      name,
      stream: null,
      audio: true,
      video: true,
      connection: pc.connectionState,
      pc,
      pending: [],
      outbox: [],
    };
    call.peers.set(userId, peer);
    pc.onicecandidate = ({ candidate }) => {
      if (!candidate) return;
      if (peer.outbox) peer.outbox.push(candidate.toJSON());
      else void this.send(call, 'webrtc-ice', { to: userId, candidate: candidate.toJSON() });
    };
    pc.ontrack = ({ streams, track }) => {
      const stream = streams[0] ?? peer.stream ?? new MediaStream();
      if (!stream.getTracks().includes(track)) stream.addTrack(track);
      peer.stream = stream;
      this.emit();
    };
    pc.onconnectionstatechange = () => {
      peer.connection = pc.connectionState;
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.dropPeer(call, userId);
      else this.emit();
    };
    return peer;
  }

  /** Our tracks on a new connection; a video sender even without a camera, for screen sharing. */
  private addLocalTracks(call: ActiveCall, pc: RTCPeerConnection): void {
    const video = call.screen ?? call.camera;
    for (const track of call.local.getAudioTracks()) pc.addTrack(track, call.local);
    const videoTransceiver = pc.getTransceivers().find((t) => t.receiver.track.kind === 'video');
    if (videoTransceiver) {
      videoTransceiver.direction = 'sendrecv';
      videoTransceiver.sender.setStreams(call.local);
      if (video) void videoTransceiver.sender.replaceTrack(video);
    } else if (video) {
      pc.addTrack(video, call.local);
    } else {
      pc.addTransceiver('video', { direction: 'sendrecv', streams: [call.local] });
    }
  }

  private setVideoTrack(call: ActiveCall, track: MediaStreamTrack | null): void {
    for (const peer of call.peers.values()) {
      const transceiver = peer.pc.getTransceivers().find((t) => t.receiver.track.kind === 'video');
      void transceiver?.sender.replaceTrack(track);
    }
  }

  private stopScreen(call: ActiveCall): void {
    if (!call.screen) return;
    call.screen.stop();
    call.screen = null;
    this.setVideoTrack(call, call.camera);
    this.emit();
    void this.sendState(call);
  }

  // --------------------------------------------------------------- signals
  private send(call: ActiveCall, type: string, fields: Record<string, unknown>) {
    return call.channel.sendEvent({ type, call_id: call.id, from: this.me, ...fields } as Event);
  }

  private sendState(call: ActiveCall) {
    return this.send(call, 'webrtc-state', { audio: call.micOn, video: call.camOn || call.screen !== null }).catch(
      () => undefined,
    );
  }

  private async onSignal(event: Event): Promise<void> {
    // The chat service sets event.user from the sender's token: trust it, not "from".
    const sender = event.user?.id;
    const callId = str(event.call_id);
    if (!sender || !callId || !event.cid) return;
    if (sender === this.me) {
      // Answered or declined in another tab of ours: this tab stops ringing.
      if (this.incoming?.id === callId && (event.type === 'webrtc-accept' || event.type === 'webrtc-decline')) {
        this.clearIncoming();
        this.emit();
      }
      return;
    }
    const name = event.user?.name || sender;
    const to = str(event.to);
    if (to && to !== this.me) return;

    if (event.type === 'webrtc-ring') {
      this.onRing(event, callId, sender, name);
      return;
    }
    if (this.incoming?.id === callId && event.type === 'webrtc-hangup' && sender === this.incoming.callerId) {
      this.clearIncoming();
      this.emit();
      return;
    }
    const call = this.call;
    if (!call || call.id !== callId || call.status === 'ended' || call.channel.cid !== event.cid) return;
    try {
      switch (event.type) {
        case 'webrtc-accept':
          await this.onAccept(call, sender, name, to !== null);
          break;
        case 'webrtc-decline':
          call.declined.add(sender);
          if (call.peers.size === 0 && call.declined.size >= this.others(call.channel)) {
            await this.finish('Call declined', true);
          }
          break;
        case 'webrtc-offer':
          await this.onOffer(call, sender, name, event);
          break;
        case 'webrtc-answer': {
          const peer = call.peers.get(sender);
          const sdp = str(event.sdp);
          if (peer && sdp) {
            await peer.pc.setRemoteDescription({ type: 'answer', sdp });
            await this.flushCandidates(peer);
          }
          break;
        }
        case 'webrtc-ice': {
          const peer = call.peers.get(sender);
          const candidates = [...(event.candidate ? [event.candidate] : []), ...(event.candidates ?? [])];
          if (!peer) break;
          for (const candidate of candidates) {
            if (peer.pc.remoteDescription) await peer.pc.addIceCandidate(candidate);
            else peer.pending.push(candidate);
          }
          break;
        }
        case 'webrtc-state': {
          const peer = call.peers.get(sender);
          if (peer) {
            peer.audio = event.audio !== false;
            peer.video = event.video !== false;
            this.emit();
          }
          break;
        }
        case 'webrtc-hangup':
          if (event.reason === 'full' && call.peers.size === 0) await this.finish('The call is full', false);
          else if (sender === call.callerId && !call.everJoined) await this.finish('The call ended', false);
          else this.dropPeer(call, sender);
          break;
      }
    } catch (caught) {
      this.fail(caught, false);
    }
  }

  private onRing(event: Event, callId: string, sender: string, name: string): void {
    if (this.call && this.call.status !== 'ended') return; // busy: the prompt would interrupt the call
    const channel = this.client.activeChannels[event.cid ?? ''];
    if (!channel || !channel.state.members[this.me]) return;
    this.clearIncoming();
    const kind: CallKind = event.kind === 'audio' ? 'audio' : 'video';
    const timer = setTimeout(() => {
      if (this.incoming?.id === callId) {
        this.clearIncoming();
        this.emit();
      }
    }, RING_SECONDS * 1000);
    this.incoming = { id: callId, cid: channel.cid, kind, callerId: sender, callerName: name, channelName: channelName(channel), channel, timer };
    this.emit();
  }

  /** Someone joined (``addressed``: someone in the call answering our own accept).
   * Of each pair, the smaller user id makes the offer, so two people who join at
   * once, each hearing the other's accept, never both offer. */
  private async onAccept(call: ActiveCall, sender: string, name: string, addressed: boolean): Promise<void> {
    if (call.peers.has(sender)) return;
    if (!addressed && call.peers.size + 1 >= call.maxParticipants) {
      await this.send(call, 'webrtc-hangup', { to: sender, reason: 'full' });
      return;
    }
    if (this.me > sender) {
      await this.send(call, 'webrtc-accept', { to: sender });
      return;
    }
    this.joined(call);
    const peer = this.peer(call, sender, name);
    this.addLocalTracks(call, peer.pc);
    const offer = await peer.pc.createOffer();
    await peer.pc.setLocalDescription(offer);
    await this.send(call, 'webrtc-offer', { to: sender, sdp: offer.sdp, audio: call.micOn, video: call.camOn });
    await this.sendCandidates(call, peer);
    this.emit();
  }

  private async onOffer(call: ActiveCall, sender: string, name: string, event: Event): Promise<void> {
    const sdp = str(event.sdp);
    if (!sdp) return;
    this.joined(call);
    const peer = this.peer(call, sender, name);
    peer.audio = event.audio !== false;
    peer.video = event.video !== false;
    await peer.pc.setRemoteDescription({ type: 'offer', sdp });
    this.addLocalTracks(call, peer.pc);
    const answer = await peer.pc.createAnswer();
    await peer.pc.setLocalDescription(answer);
    await this.send(call, 'webrtc-answer', { to: sender, sdp: answer.sdp });
    await this.sendCandidates(call, peer);
    await this.flushCandidates(peer);
    void this.sendState(call);
    this.emit();
  }

  private async sendCandidates(call: ActiveCall, peer: Peer): Promise<void> {
    const outbox = peer.outbox ?? [];
    peer.outbox = null;
    if (outbox.length) await this.send(call, 'webrtc-ice', { to: peer.userId, candidates: outbox });
  }

  private async flushCandidates(peer: Peer): Promise<void> {
    const pending = peer.pending.splice(0);
    for (const candidate of pending) await peer.pc.addIceCandidate(candidate);
  }

  private joined(call: ActiveCall): void {
    call.everJoined = true;
    call.status = 'active';
    if (call.timer) clearTimeout(call.timer);
    call.timer = null;
  }

  private others(channel: Channel): number {
    return Math.max(1, Object.keys(channel.state.members).filter((id) => id !== this.me).length);
  }

  private dropPeer(call: ActiveCall, userId: string): void {
    const peer = call.peers.get(userId);
    if (!peer) return;
    call.peers.delete(userId);
    peer.pc.close();
    if (call.peers.size === 0 && call.everJoined && call.status !== 'ended') {
      void this.finish('Everyone left', true);
      return;
    }
    this.emit();
  }

  // ------------------------------------------------------------------ end
  /** End the call here; ``record``: we are the last one, so the conversation gets the end record. */
  private async finish(reason: string, record: boolean): Promise<void> {
    const call = this.call;
    if (!call || call.status === 'ended') return;
    if (call.status === 'ringing') await this.send(call, 'webrtc-hangup', {}).catch(() => undefined);
    this.teardown(call);
    call.endReason = reason;
    this.emit();
    setTimeout(() => {
      if (this.call === call) {
        this.call = null;
        this.emit();
      }
    }, ENDED_VISIBLE_MS);
    if (record) {
      const duration = Math.max(0, Math.round((Date.now() - call.startedAt) / 1000));
      const answered = call.everJoined;
      await call.channel
        .sendMessage({
          text: answered
            ? `${call.kind === 'video' ? 'Video' : 'Audio'} call ended · ${formatDuration(duration)}`
            : `${call.kind === 'video' ? 'Video' : 'Audio'} call ended · not answered`,
          call: { id: call.id, kind: call.kind, action: 'ended', duration_s: answered ? duration : 0 },
        })
        .catch(() => undefined);
    }
  }

  private teardown(call: ActiveCall): void {
    if (call.timer) clearTimeout(call.timer);
    call.timer = null;
    call.status = 'ended';
    for (const peer of call.peers.values()) peer.pc.close();
    call.peers.clear();
    for (const track of call.local.getTracks()) track.stop();
    call.screen?.stop();
    call.screen = null;
  }

  private clearIncoming(): void {
    if (this.incoming) clearTimeout(this.incoming.timer);
    this.incoming = null;
  }

  private fail(caught: unknown, endCall = true): void {
    const message =
      caught instanceof DOMException && caught.name === 'NotAllowedError'
        ? 'The browser did not allow the microphone or camera.'
        : caught instanceof Error
          ? caught.message
          : String(caught);
    this.error = message;
    if (endCall && this.call && this.call.status !== 'ended') this.teardown(this.call);
    if (endCall) this.call = null;
    this.emit();
  }
}

export function formatDuration(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return minutes ? `${minutes} min ${rest} s` : `${rest} s`;
}
