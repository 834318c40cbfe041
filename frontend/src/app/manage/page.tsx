import type { Metadata } from 'next';

import { AppHeader } from '@/components/AppHeader';
import { ManageSections } from '@/manage/ManageSections';
import { SignedIn } from '@/lib/session';

export const metadata: Metadata = { title: 'Manage' };

export default function ManagePage() {
  return (
    <SignedIn>
      <div className="app-shell">
        <AppHeader />
        <main className="page">
          <ManageSections />
        </main>
      </div>
    </SignedIn>
  );
}
