'use client';

import { useRouter, useSearchParams } from 'next/navigation';
import { type FormEvent, useState } from 'react';

import { api, ApiError } from '@/lib/api';
import { safeNext } from '@/lib/session';

function seconds(n: number): string {
  if (n < 60) return n === 1 ? '1 second' : `${n} seconds`;
  const minutes = Math.ceil(n / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/** What to tell a person whose sign-in failed. */
export function signInMessage(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Something went wrong. Try again.';
  switch (error.status === 429 ? 'throttled' : error.code) {
    case 'invalid_credentials':
      return 'Wrong email or password.';
    case 'tenant_suspended':
      return 'Your organization is suspended, so nobody in it can sign in. Ask your administrator.';
    case 'throttled':
      return error.retryAfter
        ? `Too many sign-in attempts. Try again in ${seconds(error.retryAfter)}.`
        : 'Too many sign-in attempts. Wait a while and try again.';
    default:
      return error.message;
  }
}

export function LoginForm() {
  const router = useRouter();
  const next = safeNext(useSearchParams().get('next'));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await api.login(String(form.get('email') ?? ''), String(form.get('password') ?? ''));
      router.replace(next);
    } catch (caught) {
      setError(signInMessage(caught));
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} className="form" aria-label="Sign in" aria-describedby={error ? 'login-error' : undefined}>
      <label className="field">
        <span>Email</span>
        <input name="email" type="email" autoComplete="username" required autoFocus />
      </label>
      <label className="field">
        <span>Password</span>
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      {error && (
        <p id="login-error" className="form__error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="button button--primary" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
