'use client';

import { ErrorText } from '@/components/Dialog';
import { Table } from '@/components/Table';
import { api, type Invitation } from '@/lib/api';
import { useAction, useLoad } from '@/lib/hooks';
import { ROLE_LABELS } from '@/lib/permissions';

function InvitationRow({ invitation, onChanged }: { invitation: Invitation; onChanged: () => void }) {
  const action = useAction();
  return (
    <tr>
      <td>{invitation.full_name || '—'}</td>
      <td>{invitation.email}</td>
      <td>{ROLE_LABELS[invitation.role]}</td>
      <td>{new Date(invitation.expires_at).toLocaleDateString()}</td>
      <td className="actions">
        <button
          type="button"
          className="button"
          disabled={action.busy}
          aria-label={`Revoke the invitation of ${invitation.email}`}
          onClick={() => void action.run(() => api.invitationRevoke(invitation.id)).then((ok) => ok && onChanged())}
        >
          Revoke
        </button>
        <ErrorText error={action.error} />
      </td>
    </tr>
  );
}

export function InvitationsSection({ version }: { version: number }) {
  const invitations = useLoad(() => api.invitations({ status: 'pending', page_size: 100 }), [version]);
  const rows = invitations.data?.results ?? [];
  return (
    <section className="card" aria-labelledby="manage-invitations">
      <h2 id="manage-invitations">Pending invitations</h2>
      <ErrorText error={invitations.error} />
      {invitations.data && rows.length === 0 ? (
        <p className="muted">No pending invitations.</p>
      ) : (
        <Table columns={['Name', 'Email', 'Role', 'Expires']}>
          {rows.map((invitation) => (
            <InvitationRow key={invitation.id} invitation={invitation} onChanged={invitations.reload} />
          ))}
        </Table>
      )}
    </section>
  );
}
