'use client';

// Who is signed in. Every page but /login renders inside <SignedIn>, which
// sends signed-out visitors to /login?next=<where they were>.
import { usePathname, useRouter } from 'next/navigation';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from 'react';

import { api, ApiError, type User } from '@/lib/api';

type Session = {
  user: User;
  /** Re-read the signed-in user (after a profile change). */
  reload: () => Promise<void>;
  /** End the session on the server, then leave for /login. */
  signOut: () => Promise<void>;
};

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession() outside <SignedIn>.');
  return session;
}

/** The path to come back to after signing in, if it is one of ours. */
export function safeNext(value: string | null): string {
  return value && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/login') ? value : '/';
}

export function loginPath(): string {
  const here = `${window.location.pathname}${window.location.search}`;
  return here === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`;
}

// Callbacks that run when the person signs out (the chat connection registers one).
const signOutHooks = new Set<() => Promise<void> | void>();

export function onSignOut(hook: () => Promise<void> | void): () => void {
  signOutHooks.add(hook);
  return () => signOutHooks.delete(hook);
}

export function SignedIn({ children }: { children: ReactNode }) {
  const router = useRouter();
  const pathname = usePathname();
  const [user, setUser] = useState<User | null>(null);
  const [error, setError] = useState<string | null>(null);

  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let current = true;
    api
      .me()
      .then((me) => {
        if (!current) return;
        setUser(me);
        setError(null);
      })
      .catch((caught: unknown) => {
        if (!current) return;
        if (caught instanceof ApiError && caught.isSignedOut) router.replace(loginPath());
        else setError(caught instanceof Error ? caught.message : String(caught));
      });
    return () => {
      current = false;
    };
  }, [router, pathname, attempt]);

  const load = useCallback(async () => {
    setUser(await api.me());
  }, []);

  const signOut = useCallback(async () => {
    await Promise.allSettled([...signOutHooks].map((hook) => hook()));
    try {
      await api.logout();
    } finally {
      // A full page load, so nothing of this session stays in memory.
      window.location.assign('/login'); // eslint-disable-line @next/next/no-location-assign-relative-destination
    }
  }, []);

  if (error) {
    return (
      <main className="page-message" role="alert">
        <p>{error}</p>
        <button type="button" className="button" onClick={() => setAttempt((n) => n + 1)}>
          Try again
        </button>
      </main>
    );
  }
  if (!user) {
    return (
      <main className="page-message" aria-busy="true">
        <p>Loading…</p>
      </main>
    );
  }
  return <SessionContext.Provider value={{ user, reload: load, signOut }}>{children}</SessionContext.Provider>;
}
