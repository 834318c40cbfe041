'use client';

import Link from 'next/link';
import { useState } from 'react';

import { permissionsOf } from '@/lib/permissions';
import { useSession } from '@/lib/session';

import { ChannelsSection } from './ChannelsSection';
import { InvitationsSection } from './InvitationsSection';
import { UsersSection } from './UsersSection';

export function ManageSections() {
  const { user } = useSession();
  const [invitations, setInvitations] = useState(0);
  if (!permissionsOf(user).manage) {
    return (
      <div className="page-message" role="alert">
        <h1>Manage</h1>
        <p>Only your organization&apos;s admins and moderators manage it.</p>
        <p>
          <Link href="/">Back to the chat</Link>
        </p>
      </div>
    );
  }
  return (
    <>
      <h1>Manage {user.tenant_name || user.tenant_slug}</h1>
      <UsersSection onInvited={() => setInvitations((n) => n + 1)} />
      <InvitationsSection version={invitations} />
      <ChannelsSection />
    </>
  );
}
