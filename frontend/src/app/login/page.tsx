import type { Metadata } from 'next';
import { Suspense } from 'react';

import { LoginForm } from './LoginForm';

export const metadata: Metadata = { title: 'Sign in' };

export default function LoginPage() {
  return (
    <main className="auth-page">
      <div className="auth-card">
        <h1>Sign in</h1>
        <Suspense>
          <LoginForm />
        </Suspense>
      </div>
    </main>
  );
}
