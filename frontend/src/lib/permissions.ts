// What the signed-in user may do, from its tenant role: the one place the UI
// decides which controls to show (the backend enforces the same rules anyway).
// Chat actions follow the channel's own_capabilities instead (chat/capabilities.ts).
import type { Role, User } from '@/lib/api';

const RANK: Record<Role, number> = { member: 0, moderator: 1, admin: 2 };
const ROLES: Role[] = ['member', 'moderator', 'admin'];

export type Permissions = {
  /** /manage at all. */
  manage: boolean;
  /** Roles this user may give when creating or inviting someone (empty: none). */
  grantableRoles: Role[];
  /** Change someone's role. */
  changeRoles: boolean;
  /** Deactivate or reactivate this person. */
  setActive: (target: Pick<User, 'id' | 'role'>) => boolean;
  /** Delete accounts. */
  deleteUsers: boolean;
  /** Create, edit and delete channels and their members. */
  manageChannels: boolean;
};

export function permissionsOf(user: Pick<User, 'id' | 'role' | 'is_staff'>): Permissions {
  const isAdmin = user.role === 'admin' || user.is_staff;
  const isModerator = user.role === 'moderator';
  return {
    manage: isAdmin || isModerator,
    grantableRoles: isAdmin ? ROLES : isModerator ? ['member'] : [],
    changeRoles: isAdmin,
    setActive: (target) =>
      target.id !== user.id && (isAdmin || (isModerator && RANK[target.role] === RANK.member)),
    deleteUsers: isAdmin,
    manageChannels: isAdmin || isModerator,
  };
}

export const ROLE_LABELS: Record<Role, string> = { admin: 'Admin', moderator: 'Moderator', member: 'Member' };
