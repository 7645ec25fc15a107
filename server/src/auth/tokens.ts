import jwt from 'jsonwebtoken';
import type { Role } from '@onair/shared';
import { AppError } from '../errors.js';

/** A signed-in admin or host (dashboard, room list). */
export interface SessionClaims {
  typ: 'session';
  sub: string;
  role: 'admin' | 'host';
  /** The user's token version when signed; bumping it (disable, password change) revokes the token. */
  ver: number;
}

/** Entry to one room's WebSocket; short-lived. */
export interface RoomClaims {
  typ: 'room';
  /** Stable identity of the participant (user id, or a random guest id). */
  sub: string;
  role: Role;
  room: string;
  name: string;
  /** For a signed-in user, their token version (see SessionClaims.ver); guests have none. */
  ver?: number;
}

/**
 * Watching one room's program preview from the dashboard (an admin or a host of the room, not in the
 * meeting): the WebSocket session it opens is receive-only and never joins. Short-lived.
 */
export interface PreviewClaims {
  typ: 'preview';
  sub: string;
  room: string;
  name: string;
  /** The user's token version when signed (see SessionClaims.ver). */
  ver: number;
}

/** What a join link carries so a guest may ask for a room token. */
export interface InviteClaims {
  typ: 'invite';
  room: string;
}

/**
 * A link to download one recording (a player or a download cannot send the Authorization header).
 * It names the signed-in user; every request re-checks that user's rights and token version.
 */
export interface DownloadClaims {
  typ: 'download';
  sub: string;
  role: 'admin' | 'host';
  ver: number;
  /** The recording's id. */
  rec: string;
}

/** Opens one private event page; it names the page's token version, so making a new link revokes it. */
export interface WatchClaims {
  typ: 'watch';
  room: string;
  ver: number;
}

type Claims = SessionClaims | RoomClaims | PreviewClaims | InviteClaims | DownloadClaims | WatchClaims;

const ALGORITHM = 'HS256';

export class Tokens {
  constructor(private readonly key: Buffer) {}

  sign(claims: Claims, ttlSeconds?: number): string {
    return jwt.sign(claims, this.key, { algorithm: ALGORITHM, ...(ttlSeconds ? { expiresIn: ttlSeconds } : {}) });
  }

  private verifyRaw(token: string): Record<string, unknown> {
    try {
      const payload = jwt.verify(token, this.key, { algorithms: [ALGORITHM] });
      if (typeof payload === 'string') throw new AppError('TOKEN_INVALID', 'The token is not valid.');
      return payload;
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (error instanceof jwt.TokenExpiredError) throw new AppError('TOKEN_EXPIRED', 'The token has expired. Sign in or open the link again.');
      throw new AppError('TOKEN_INVALID', 'The token is not valid.');
    }
  }

  verifySession(token: string): SessionClaims {
    const p = this.verifyRaw(token);
    if (p.typ !== 'session' || typeof p.sub !== 'string' || (p.role !== 'admin' && p.role !== 'host') || !Number.isInteger(p.ver)) {
      throw new AppError('TOKEN_INVALID', 'The token is not valid.');
    }
    return { typ: 'session', sub: p.sub, role: p.role, ver: Number(p.ver) };
  }

  verifyRoom(token: string): RoomClaims {
    return roomClaims(this.verifyRaw(token));
  }

  /** What a signalling socket authenticates with: a room token (a participant) or a preview token (a watcher of the program preview). */
  verifySocket(token: string): RoomClaims | PreviewClaims {
    const p = this.verifyRaw(token);
    if (p.typ !== 'preview') return roomClaims(p);
    if (typeof p.sub !== 'string' || typeof p.room !== 'string' || typeof p.name !== 'string' || !Number.isInteger(p.ver)) {
      throw new AppError('TOKEN_INVALID', 'The token is not valid.');
    }
    return { typ: 'preview', sub: p.sub, room: p.room, name: p.name, ver: Number(p.ver) };
  }

  /** A download link for another recording is refused like a forged one. */
  verifyDownload(token: string, recordingId: string): DownloadClaims {
    const p = this.verifyRaw(token);
    if (p.typ !== 'download' || typeof p.sub !== 'string' || (p.role !== 'admin' && p.role !== 'host') || !Number.isInteger(p.ver) || p.rec !== recordingId) {
      throw new AppError('TOKEN_INVALID', 'This download link is not valid. Open the broadcast history and download again.');
    }
    return { typ: 'download', sub: p.sub, role: p.role, ver: Number(p.ver), rec: recordingId };
  }

  /**
   * A private event page's link: expired → EVENT_LINK_EXPIRED; forged, for another page, or older
   * than the page's current link (`version`) → EVENT_LINK_INVALID.
   */
  verifyWatch(token: string, roomId: string, version: number): WatchClaims {
    const invalid = new AppError('EVENT_LINK_INVALID', 'This link to the event is not valid (it may have been replaced by a newer one). Ask the organiser for a new link.');
    let p: Record<string, unknown>;
    try {
      p = this.verifyRaw(token);
    } catch (error) {
      if (error instanceof AppError && error.code === 'TOKEN_EXPIRED') {
        throw new AppError('EVENT_LINK_EXPIRED', 'This link to the event has expired. Ask the organiser for a new link.');
      }
      throw invalid;
    }
    if (p.typ !== 'watch' || p.room !== roomId || p.ver !== version) throw invalid;
    return { typ: 'watch', room: roomId, ver: version };
  }

  /** An invite that does not verify, or names another room, is refused as INVITE_INVALID. */
  verifyInvite(token: string, roomId: string): InviteClaims {
    let p: Record<string, unknown>;
    try {
      p = this.verifyRaw(token);
    } catch {
      throw new AppError('INVITE_INVALID', 'This invitation link is not valid. Ask the host for a new link.');
    }
    if (p.typ !== 'invite' || p.room !== roomId) {
      throw new AppError('INVITE_INVALID', 'This invitation link is not valid. Ask the host for a new link.');
    }
    return { typ: 'invite', room: roomId };
  }
}

function roomClaims(p: Record<string, unknown>): RoomClaims {
  if (
    p.typ !== 'room' ||
    typeof p.sub !== 'string' ||
    typeof p.room !== 'string' ||
    typeof p.name !== 'string' ||
    (p.role !== 'admin' && p.role !== 'host' && p.role !== 'guest') ||
    (p.role !== 'guest' && !Number.isInteger(p.ver))
  ) {
    throw new AppError('TOKEN_INVALID', 'The token is not valid.');
  }
  return { typ: 'room', sub: p.sub, role: p.role, room: p.room, name: p.name, ...(p.role !== 'guest' ? { ver: Number(p.ver) } : {}) };
}
