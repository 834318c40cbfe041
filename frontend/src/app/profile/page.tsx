import type { Metadata } from 'next';

import { AppHeader } from '@/components/AppHeader';
import { SignedIn } from '@/lib/session';

import { ProfileForms } from './ProfileForms';

export const metadata: Metadata = { title: 'Profile' };

export default function ProfilePage() {
  return (
    <SignedIn>
      <div className="app-shell">
        <AppHeader />
        <main className="page">
          <h1>Profile</h1>
          <ProfileForms />
        </main>
      </div>
    </SignedIn>
  );
}
