import { AppError } from '../errors.js';
import type { Tokens } from './tokens.js';

/** Join links carry a signed invite so only people given the link can ask for a guest token. */
export class Invites {
  constructor(
    private readonly tokens: Tokens,
    private readonly publicUrl: string,
  ) {}

  /** The join link for a room: /join/<id>?invite=<signed invite>. */
  url(roomId: string): string {
    return `${this.publicUrl}/join/${roomId}?invite=${encodeURIComponent(this.tokens.sign({ typ: 'invite', room: roomId }))}`;
  }

  /** Refuses a missing, forged or other room's invite with INVITE_INVALID. */
  verify(invite: string | undefined, roomId: string): void {
    if (!invite) throw new AppError('INVITE_INVALID', 'This invitation link is not valid. Ask the host for a new link.');
    this.tokens.verifyInvite(invite, roomId);
  }
}
