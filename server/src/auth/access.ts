import type { Role, User } from '@onair/shared';
import { AppError } from '../errors.js';
import type { RoomsRepo } from '../persistence/rooms.js';
import type { UsersRepo } from '../persistence/users.js';
import type { WebinarsRepo } from '../persistence/webinars.js';
import type { PreviewClaims, RoomClaims, SessionClaims } from './tokens.js';

export interface RoomAccessDeps {
  users: UsersRepo;
  rooms: RoomsRepo;
  webinars: WebinarsRepo;
}

/**
 * Who may do what, in one place. A room's hosts are its owner, the hosts of the webinars held in
 * it, and every admin; anyone else in the room is a guest, whatever their account's role.
 * Rights are read from the database when asked (never only from a token), so removing a host from
 * a webinar or disabling an account takes effect on the next request.
 */
export class RoomAccess {
  constructor(private readonly deps: RoomAccessDeps) {}

  /** The role `user` has in the room: admin, host (owner or webinar host) or guest. */
  roleIn(user: User, roomId: string): Role {
    if (user.disabled) return 'guest';
    if (user.role === 'admin') return 'admin';
    const room = this.deps.rooms.find(roomId);
    if (room && (room.ownerId === user.id || this.deps.webinars.isHostOfRoom(user.id, roomId))) return 'host';
    return 'guest';
  }

  /** Whether the user behind a room token's `sub` may act as a host in the room right now. */
  canHost(userKey: string, roomId: string): boolean {
    const user = this.deps.users.find(userKey);
    return user !== null && this.roleIn(user, roomId) !== 'guest';
  }

  /**
   * The signed-in user behind a session token, if the token was not revoked since it was signed
   * (disabled, deleted, password changed: SESSION_REVOKED / USER_DISABLED).
   */
  sessionUser(claims: SessionClaims): User {
    return this.current(claims.sub, claims.ver);
  }

  /** The role a room token's holder has in its room now; guests stay guests. */
  admit(claims: RoomClaims): Role {
    if (claims.role === 'guest') return 'guest';
    const user = this.current(claims.sub, claims.ver ?? -1);
    return this.roleIn(user, claims.room);
  }

  /**
   * The role of a preview token's holder in its room now: only the room's hosts (owner, webinar
   * hosts, admins) watch its program; anyone else is refused with FORBIDDEN.
   */
  admitWatcher(claims: PreviewClaims): Role {
    const role = this.roleIn(this.current(claims.sub, claims.ver), claims.room);
    if (role === 'guest') throw new AppError('FORBIDDEN', 'Only the hosts of this room can watch its program preview.');
    return role;
  }

  private current(userId: string, version: number): User {
    const identity = this.deps.users.identity(userId);
    if (!identity) throw new AppError('SESSION_REVOKED', 'This account no longer exists. Sign in with another account.');
    if (identity.user.disabled) throw new AppError('USER_DISABLED', 'This account has been disabled.');
    if (identity.tokenVersion !== version) throw new AppError('SESSION_REVOKED', 'You were signed out (your password changed or an admin ended your sessions). Sign in again.');
    return identity.user;
  }
}
