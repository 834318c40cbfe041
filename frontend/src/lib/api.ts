// The one module that talks to the control plane (/api/...). Cookies carry the
// session; unsafe methods send the CSRF token; the error envelope
// {detail, code, fields?} becomes an ApiError whose message a person can read.

export type Role = 'admin' | 'moderator' | 'member';

export type User = {
  id: string;
  email: string;
  full_name: string;
  tenant: string | null;
  tenant_slug: string | null;
  tenant_name?: string | null;
  role: Role;
  is_active: boolean;
  is_staff: boolean;
  chat_user_id: string;
  created_at: string;
  updated_at: string;
  /** Whether the organization allows calls, and how many people one call holds. */
  calls?: { enabled: boolean; max_participants: number };
};

export type IceServers = {
  ice_servers: RTCIceServer[];
  ttl: number;
  ice_transport_policy: RTCIceTransportPolicy;
  max_participants: number;
};

export type ChannelKind = 'channel' | 'direct';

export type Channel = {
  id: string;
  tenant: string;
  slug: string;
  name: string;
  description: string;
  visibility: 'public' | 'private';
  kind?: ChannelKind;
  cid: string;
  created_by: string | null;
  member_count: number;
  is_member: boolean;
  created_at: string;
  updated_at: string;
};

export type ChannelRole = 'member' | 'moderator';

export type Membership = {
  user: Pick<User, 'id' | 'email' | 'full_name' | 'role' | 'is_active' | 'chat_user_id'>;
  role: ChannelRole;
  created_at: string;
  updated_at: string;
};

export type Invitation = {
  id: string;
  email: string;
  full_name: string;
  role: Role;
  status: 'pending' | 'accepted' | 'revoked' | 'expired';
  expires_at: string;
  created_at: string;
};

export type Page<T> = { count: number; next: string | null; previous: string | null; results: T[] };

export type ChatToken = {
  token: string;
  api_key: string;
  user_id: string;
  expires_at: string;
  base_url: string;
};

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly fields: Record<string, string[]> = {},
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Not signed in (or the session ended): the caller sends the person to /login. */
  get isSignedOut(): boolean {
    return this.status === 401;
  }
}

export const UNREACHABLE = 'The server cannot be reached. Check your connection and try again.';

function cookie(name: string): string | null {
  const match = document.cookie.split('; ').find((entry) => entry.startsWith(`${name}=`));
  return match ? decodeURIComponent(match.slice(name.length + 1)) : null;
}

function retryAfterSeconds(response: Response): number | null {
  const header = response.headers.get('Retry-After');
  const seconds = header === null ? NaN : Number.parseInt(header, 10);
  return Number.isFinite(seconds) ? seconds : null;
}

async function toError(response: Response): Promise<ApiError> {
  let body: { detail?: unknown; code?: unknown; fields?: unknown } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // Not the JSON envelope (a proxy's page): fall back to the status.
  }
  const fields = (body.fields && typeof body.fields === 'object' ? body.fields : {}) as Record<string, string[]>;
  const fieldMessages = Object.entries(fields).flatMap(([name, messages]) =>
    (Array.isArray(messages) ? messages : [String(messages)]).map((m) => (name === 'non_field_errors' ? m : `${name}: ${m}`)),
  );
  const detail = typeof body.detail === 'string' ? body.detail : `The server answered ${response.status}.`;
  const message = fieldMessages.length && detail.startsWith('Invalid input') ? fieldMessages.join(' ') : detail;
  return new ApiError(
    message,
    response.status,
    typeof body.code === 'string' ? body.code : 'error',
    fields,
    retryAfterSeconds(response),
  );
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

async function send(method: Method, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') {
    const csrf = cookie('csrftoken');
    if (csrf) headers['X-CSRFToken'] = csrf;
  }
  try {
    return await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(UNREACHABLE, 0, 'unreachable');
  }
}

// One refresh at a time: tabs and parallel calls that all meet an expired
// access token share it (refresh tokens rotate, so a second one would fail).
let refreshing: Promise<boolean> | null = null;

function refreshSession(): Promise<boolean> {
  refreshing ??= send('POST', '/api/auth/refresh', {})
    .then((response) => response.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

const NO_REFRESH = new Set(['/api/auth/login', '/api/auth/refresh', '/api/auth/logout']);

export async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  let response = await send(method, path, body);
  if (response.status === 401 && !NO_REFRESH.has(path) && (await refreshSession())) {
    response = await send(method, path, body);
  }
  if (!response.ok) throw await toError(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const api = {
  login: (email: string, password: string) =>
    request<{ user: User; access: string }>('POST', '/api/auth/login', { email, password }),
  logout: () => request<void>('POST', '/api/auth/logout', {}),
  me: () => request<User>('GET', '/api/auth/me'),
  chatToken: () => request<ChatToken>('GET', '/api/stream/token'),

  users: (params: { search?: string; role?: Role; is_active?: boolean; page?: number; page_size?: number } = {}) =>
    request<Page<User>>('GET', `/api/users/${query(params)}`),
  userCreate: (data: { email: string; full_name: string; role: Role; password?: string }) =>
    request<User>('POST', '/api/users/', data),
  userUpdate: (id: string, data: Partial<Pick<User, 'full_name' | 'role' | 'is_active'>> & { password?: string }) =>
    request<User>('PATCH', `/api/users/${id}/`, data),
  userDelete: (id: string) => request<void>('DELETE', `/api/users/${id}/`),

  invitations: (params: { status?: Invitation['status']; page_size?: number } = {}) =>
    request<Page<Invitation>>('GET', `/api/invitations/${query(params)}`),
  invitationCreate: (data: { email: string; full_name: string; role: Role }) =>
    request<Invitation & { url: string }>('POST', '/api/invitations/', data),
  invitationRevoke: (id: string) => request<Invitation>('POST', `/api/invitations/${id}/revoke/`, {}),

  channels: (
    params: { search?: string; visibility?: 'public' | 'private'; joined?: boolean; kind?: ChannelKind; page_size?: number } = {},
  ) => request<Page<Channel>>('GET', `/api/channels/${query(params)}`),
  channelCreate: (data: { name: string; description?: string; visibility: 'public' | 'private'; member_ids?: string[] }) =>
    request<Channel>('POST', '/api/channels/', data),
  channelUpdate: (id: string, data: Partial<Pick<Channel, 'name' | 'description' | 'visibility'>>) =>
    request<Channel>('PATCH', `/api/channels/${id}/`, data),
  channelDelete: (id: string) => request<void>('DELETE', `/api/channels/${id}/`),
  channelJoin: (id: string) => request<Membership>('POST', `/api/channels/${id}/join/`, {}),
  channelMembers: (id: string) => request<Page<Membership>>('GET', `/api/channels/${id}/members/?page_size=200`),
  channelMembersAdd: (id: string, userIds: string[], role: ChannelRole = 'member') =>
    request<Membership[]>('POST', `/api/channels/${id}/members/`, { user_ids: userIds, role }),
  channelMemberRemove: (id: string, userId: string) =>
    request<void>('DELETE', `/api/channels/${id}/members/${userId}/`),
  iceServers: () => request<IceServers>('GET', '/api/calls/ice-servers'),
  directStart: (userIds: string[]) => request<Channel>('POST', '/api/channels/direct/', { user_ids: userIds }),
};
