'use client';

import { type FormEvent, useState } from 'react';

import { ErrorText } from '@/components/Dialog';
import { api } from '@/lib/api';
import { messageOf } from '@/lib/errors';
import { useSession } from '@/lib/session';

function useSubmit(action: (form: FormData) => Promise<string>, { reset }: { reset: boolean }) {
  const [state, setState] = useState<{ busy: boolean; error: string | null; done: string | null }>({
    busy: false,
    error: null,
    done: null,
  });
  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    setState({ busy: true, error: null, done: null });
    try {
      const done = await action(new FormData(form));
      if (reset) form.reset();
      setState({ busy: false, error: null, done });
    } catch (caught) {
      setState({ busy: false, error: messageOf(caught), done: null });
    }
  };
  return { ...state, onSubmit };
}

export function ProfileForms() {
  const { user, reload } = useSession();
  const name = useSubmit(async (form) => {
    await api.userUpdate(user.id, { full_name: String(form.get('full_name') ?? '').trim() });
    await reload();
    return 'Your name is saved.';
  }, { reset: false });
  const password = useSubmit(async (form) => {
    const next = String(form.get('new_password') ?? '');
    if (next !== String(form.get('confirm_password') ?? '')) throw new Error('The two passwords differ.');
    await api.userUpdate(user.id, { password: next });
    return 'Your password is changed. Your other sessions are signed out.';
  }, { reset: true });

  return (
    <div className="cards">
      <section className="card" aria-labelledby="profile-name">
        <h2 id="profile-name">Name</h2>
        <p className="muted">
          {user.email} · {user.tenant_name || user.tenant_slug}
        </p>
        <form className="form" onSubmit={name.onSubmit}>
          <label className="field">
            <span>Full name</span>
            <input name="full_name" defaultValue={user.full_name} maxLength={150} required autoComplete="name" />
          </label>
          <ErrorText error={name.error} />
          {name.done && <p role="status">{name.done}</p>}
          <button type="submit" className="button button--primary" disabled={name.busy}>
            Save name
          </button>
        </form>
      </section>
      <section className="card" aria-labelledby="profile-password">
        <h2 id="profile-password">Password</h2>
        <form className="form" onSubmit={password.onSubmit}>
          <label className="field">
            <span>New password</span>
            <input name="new_password" type="password" autoComplete="new-password" minLength={8} required />
          </label>
          <label className="field">
            <span>Repeat the new password</span>
            <input name="confirm_password" type="password" autoComplete="new-password" minLength={8} required />
          </label>
          <ErrorText error={password.error} />
          {password.done && <p role="status">{password.done}</p>}
          <button type="submit" className="button button--primary" disabled={password.busy}>
            Change password
          </button>
        </form>
      </section>
    </div>
  );
}
