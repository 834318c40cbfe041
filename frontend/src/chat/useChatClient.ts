'use client';

// The chat connection of the signed-in user. The token comes from
// /api/stream/token through a token provider: stream-chat asks again when the
// service refuses an expired token, and a timer renews it shortly before
// expires_at, so a long session never needs a reload. The service's URL is
// the base_url that endpoint returns: the built-in engine or Stream's cloud.
import { useEffect, useState } from 'react';
import { StreamChat } from 'stream-chat';

import { api, ApiError, type ChatToken } from '@/lib/api';
import { onSignOut } from '@/lib/session';

const RENEW_BEFORE_EXPIRY_MS = 60_000;

export type ChatConnection =
  | { state: 'connecting' }
  | { state: 'connected'; client: StreamChat }
  | { state: 'failed'; message: string };

function msUntilRenewal(token: ChatToken): number {
  return Math.max(5_000, new Date(token.expires_at).getTime() - Date.now() - RENEW_BEFORE_EXPIRY_MS);
}

export function useChatClient(userId: string): ChatConnection {
  const [connection, setConnection] = useState<ChatConnection>({ state: 'connecting' });

  useEffect(() => {
    let cancelled = false;
    let client: StreamChat | null = null;
    let renewal: ReturnType<typeof setTimeout> | undefined;

    const scheduleRenewal = (token: ChatToken) => {
      clearTimeout(renewal);
      renewal = setTimeout(() => {
        // loadToken() calls the provider below and swaps the token in place. If it
        // fails (the session ended), the SDK asks again when the token is refused.
        client?.tokenManager.loadToken().catch(() => undefined);
      }, msUntilRenewal(token));
    };

    const connect = async () => {
      const first = await api.chatToken();
      client = new StreamChat(first.api_key, { baseURL: first.base_url, timeout: 15_000 });
      let pending: ChatToken | null = first;
      const tokenProvider = async () => {
        const token = pending ?? (await api.chatToken());
        pending = null;
        scheduleRenewal(token);
        return token.token;
      };
      await client.connectUser({ id: first.user_id }, tokenProvider);
      if (cancelled) {
        await client.disconnectUser();
        return;
      }
      setConnection({ state: 'connected', client });
    };

    connect().catch((error: unknown) => {
      if (cancelled) return;
      const message =
        error instanceof ApiError
          ? error.message
          : 'The chat service cannot be reached. Check your connection and reload the page.';
      setConnection({ state: 'failed', message });
    });

    const forget = onSignOut(async () => {
      await client?.disconnectUser();
    });

    return () => {
      cancelled = true;
      forget();
      clearTimeout(renewal);
      void client?.disconnectUser();
    };
  }, [userId]);

  return connection;
}
