'use client';

import { type FormEvent, useState } from 'react';

import { ErrorText } from '@/components/Dialog';
import { Table } from '@/components/Table';
import { api, type Role, type User } from '@/lib/api';
import { useAction, useDebounced, useLoad } from '@/lib/hooks';
import { type Permissions, permissionsOf, ROLE_LABELS } from '@/lib/permissions';
import { useSession } from '@/lib/session';

function RoleField({ roles }: { roles: Role[] }) {
  if (roles.length <= 1) return <input type="hidden" name="role" value={roles[0] ?? 'member'} />;
  return (
    <label className="field">
      <span>Role</span>
      <select name="role" defaultValue="member">
        {roles.map((role) => (
          <option key={role} value={role}>
            {ROLE_LABELS[role]}
          </option>
        ))}
      </select>
    </label>
  );
}

function AddPersonForm({ can, onDone }: { can: Permissions; onDone: (how: 'created' | 'invited') => void }) {
  const action = useAction();
  const [done, setDone] = useState<string | null>(null);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const how = (event.nativeEvent as SubmitEvent).submitter?.getAttribute('value') === 'invite' ? 'invited' : 'created';
    const person = {
      email: String(data.get('email') ?? '').trim(),
      full_name: String(data.get('full_name') ?? '').trim(),
      role: String(data.get('role') ?? 'member') as Role,
    };
    let message = '';
    const ok = await action.run(async () => {
      if (how === 'invited') {
        const invitation = await api.invitationCreate(person);
        message = `Invitation sent to ${invitation.email}. Its link: ${invitation.url}`;
      } else {
        const password = String(data.get('password') ?? '');
        const user = await api.userCreate({ ...person, ...(password ? { password } : {}) });
        message = `${user.full_name || user.email} can now sign in.`;
      }
    });
    if (ok) {
      form.reset();
      setDone(message);
      onDone(how);
    }
  };

  return (
    <form className="form form--inline" onSubmit={submit} aria-label="Add a person">
      <label className="field">
        <span>Email</span>
        <input name="email" type="email" required />
      </label>
      <label className="field">
        <span>Full name</span>
        <input name="full_name" maxLength={150} />
      </label>
      <RoleField roles={can.grantableRoles} />
      <label className="field">
        <span>Password (optional)</span>
        <input name="password" type="password" autoComplete="new-password" />
      </label>
      <div className="form__buttons">
        <button type="submit" value="create" className="button button--primary" disabled={action.busy}>
          Create account
        </button>
        <button type="submit" value="invite" className="button" disabled={action.busy}>
          Send invitation
        </button>
      </div>
      <ErrorText error={action.error} />
      {done && (
        <p role="status" className="form__done">
          {done}
        </p>
      )}
    </form>
  );
}

function UserRow({ person, can, me, onChanged }: { person: User; can: Permissions; me: User; onChanged: () => void }) {
  const action = useAction();
  const name = person.full_name || person.email;
  const change = (data: Parameters<typeof api.userUpdate>[1]) =>
    action.run(() => api.userUpdate(person.id, data)).then((ok) => ok && onChanged());
  const remove = () => {
    if (!window.confirm(`Delete ${name}? Their account and chat user are removed for good.`)) return;
    void action.run(() => api.userDelete(person.id)).then((ok) => ok && onChanged());
  };

  return (
    <tr>
      <td>
        {name}
        {person.id === me.id && <span className="muted"> (you)</span>}
      </td>
      <td>{person.email}</td>
      <td>
        {can.changeRoles && person.id !== me.id ? (
          <select
            aria-label={`Role of ${name}`}
            value={person.role}
            disabled={action.busy}
            onChange={(event) => void change({ role: event.target.value as Role })}
          >
            {(['member', 'moderator', 'admin'] as Role[]).map((role) => (
              <option key={role} value={role}>
                {ROLE_LABELS[role]}
              </option>
            ))}
          </select>
        ) : (
          ROLE_LABELS[person.role]
        )}
      </td>
      <td>{person.is_active ? 'Active' : 'Deactivated'}</td>
      <td className="actions">
        {can.setActive(person) && (
          <button type="button" className="button" disabled={action.busy} onClick={() => void change({ is_active: !person.is_active })}>
            {person.is_active ? 'Deactivate' : 'Reactivate'}
          </button>
        )}
        {can.deleteUsers && person.id !== me.id && (
          <button type="button" className="button button--danger" disabled={action.busy} onClick={remove} aria-label={`Delete ${name}`}>
            Delete
          </button>
        )}
        <ErrorText error={action.error} />
      </td>
    </tr>
  );
}

export function UsersSection({ onInvited }: { onInvited: () => void }) {
  const { user } = useSession();
  const can = permissionsOf(user);
  const [search, setSearch] = useState('');
  const term = useDebounced(search);
  const users = useLoad(() => api.users({ search: term || undefined, page_size: 100 }), [term]);

  return (
    <section className="card" aria-labelledby="manage-people">
      <h2 id="manage-people">People</h2>
      <AddPersonForm can={can} onDone={(how) => (how === 'invited' ? onInvited() : users.reload())} />
      <label className="field field--search">
        <span>Search people</span>
        <input type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
      </label>
      <ErrorText error={users.error} />
      <Table columns={['Name', 'Email', 'Role', 'Status']}>
        {users.data?.results.map((person) => (
          <UserRow key={person.id} person={person} can={can} me={user} onChanged={users.reload} />
        ))}
      </Table>
      {users.data && users.data.count > users.data.results.length && (
        <p className="muted">
          Showing {users.data.results.length} of {users.data.count}; search to narrow it down.
        </p>
      )}
    </section>
  );
}
