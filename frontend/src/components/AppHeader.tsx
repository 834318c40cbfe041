'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import type { ReactNode } from 'react';

import { permissionsOf, ROLE_LABELS } from '@/lib/permissions';
import { useSession } from '@/lib/session';

export function AppHeader({ start }: { start?: ReactNode }) {
  const { user, signOut } = useSession();
  const pathname = usePathname();
  const links = [
    { href: '/', label: 'Chat' },
    ...(permissionsOf(user).manage ? [{ href: '/manage', label: 'Manage' }] : []),
    { href: '/profile', label: 'Profile' },
  ];
  return (
    <header className="app-header">
      {start}
      <span className="app-header__brand">{user.tenant_name || user.tenant_slug || 'Chat platform'}</span>
      <nav aria-label="Main" className="app-header__nav">
        {links.map((link) => (
          <Link key={link.href} href={link.href} aria-current={pathname === link.href ? 'page' : undefined}>
            {link.label}
          </Link>
        ))}
      </nav>
      <span className="app-header__user" title={user.email}>
        {user.full_name || user.email} <span className="badge">{ROLE_LABELS[user.role]}</span>
      </span>
      <button type="button" className="button button--ghost" onClick={() => void signOut()}>
        Sign out
      </button>
    </header>
  );
}
