import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  assertNever,
  ClientRequest,
  CLIENT_REQUEST_TYPES,
  MAX_SIGNAL_JSON_DEPTH,
  MAX_SIGNAL_MESSAGE_BYTES,
  type ClientRequestType,
  type ErrorBody,
  type ErrorCode,
  type IceServer,
  type Role,
  type NotificationData,
  type NotificationEvent,
  type ResponseData,
  type ServerMessage,
} from '@onair/shared';
import { randomUUID } from 'node:crypto';
import type { PreviewClaims, RoomClaims, Tokens } from '../auth/tokens.js';
import { parseUntrustedJson, trimStrings } from '../edge/input.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Peer } from '../sfu/Peer.js';
import type { Room } from '../sfu/Room.js';
import { toClientRtpCapabilities } from '../sfu/wire.js';

const validateRequest = TypeCompiler.Compile(ClientRequest);

/**
 * Who may send each request. Every request passes this one gate before it is dispatched.
 * 'backstage': the room's hosts, and anyone else while they are backstage (not on air themselves).
 */
export const REQUEST_ACCESS: Record<ClientRequestType, 'anyone' | 'member' | 'backstage' | 'host'> = {
  authenticate: 'anyone',
  createTransport: 'member',
  connectTransport: 'member',
  restartIce: 'member',
  join: 'member',
  produce: 'member',
  closeProducer: 'member',
  pauseProducer: 'member',
  resumeProducer: 'member',
  resumeConsumer: 'member',
  setPreferredLayers: 'member',
  leave: 'member',
  startBroadcast: 'host',
  updateBroadcast: 'host',
  stopBroadcast: 'host',
  setOnAir: 'host',
  // The program preview is what goes out: for the room's hosts, and for the people backstage waiting
  // to go on air (as in StreamYard's backstage). A guest on air asking is refused.
  consumePreview: 'backstage',
};

/**
 * What a watcher may send: a session opened with a preview token (an admin watching the program
 * preview from the dashboard) only receives. It never joins, so nobody in the meeting sees it, it is
 * in no participant list or count, and it cannot produce or change the broadcast.
 */
export const WATCHER_MAY: Record<ClientRequestType, boolean> = {
  authenticate: true,
  createTransport: true, // the receive transport only (the room refuses 'send')
  connectTransport: true,
  restartIce: true,
  join: false,
  produce: false,
  closeProducer: false,
  pauseProducer: false,
  resumeProducer: false,
  resumeConsumer: true,
  setPreferredLayers: false,
  leave: true,
  startBroadcast: false,
  updateBroadcast: false,
  stopBroadcast: false,
  setOnAir: false,
  consumePreview: true,
};

/** What a session needs from the rest of the server. */
export interface SessionDeps {
  tokens: Tokens;
  /** Opens (or finds) the live room for a stored room id; throws ROOM_NOT_FOUND. */
  openRoom: (roomId: string) => Promise<Room>;
  /**
   * Checks that a room token's holder may still enter (account enabled, token not revoked) and
   * returns their role in that room now; throws TOKEN_INVALID / USER_DISABLED / SESSION_REVOKED.
   */
  admit: (claims: RoomClaims) => Role;
  /** Likewise for a preview token: the holder's role in the room now, refused with FORBIDDEN unless they host it. */
  admitWatcher: (claims: PreviewClaims) => Role;
  /** The room if it is open now (a watcher never opens one: with no room there is no program to watch). */
  findRoom: (roomId: string) => Room | undefined;
  /** Whether this participant may act as a host in the room right now (asked on every host action). */
  canHost: (userKey: string, roomId: string) => boolean;
  /** TURN servers with fresh credentials for this participant (none when TURN is not configured). */
  iceServers: (peerId: string) => IceServer[];
  /** Whether guests who join this room land backstage (a webinar's setting); default: everyone starts on air. Hosts always start on air. */
  guestsStartBackstage?: (roomId: string) => boolean;
  /** Go live / update / stop; implemented by the broadcast service. */
  broadcasts: BroadcastControl;
  logger: Logger;
}

export interface BroadcastControl {
  start(room: Room, peer: Peer, data: Extract<ClientRequest, { type: 'startBroadcast' }>['data']): Promise<ResponseData['startBroadcast']>;
  update(room: Room, peer: Peer, data: Extract<ClientRequest, { type: 'updateBroadcast' }>['data']): Promise<ResponseData['updateBroadcast']>;
  stop(room: Room, peer: Peer): Promise<void>;
}

/** The transport a session talks over (a WebSocket in production). */
export interface SessionSocket {
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** Time a new socket has to send its first (authenticate) frame before it is closed. */
const AUTH_TIMEOUT_MS = 10_000;
/** Sustained request rate above which a socket is cut off (per 10 s window). */
const MAX_REQUESTS_PER_WINDOW = 400;
export const WS_CLOSE_POLICY = 4001;
export const WS_CLOSE_REPLACED = 4002;
export const WS_CLOSE_ROOM_CLOSED = 4003;
export const WS_CLOSE_RESTARTING = 4004;
export const WS_CLOSE_REVOKED = 4005;
export const WS_CLOSE_INTERNAL = 4006;

/** The close code that goes with each `closing` reason (the notification carries the words). */
const CLOSE_CODES: Partial<Record<ErrorCode, number>> = {
  REPLACED: WS_CLOSE_REPLACED,
  SERVER_RESTARTING: WS_CLOSE_RESTARTING,
  ROOM_CLOSED: WS_CLOSE_ROOM_CLOSED,
  SESSION_REVOKED: WS_CLOSE_REVOKED,
  INTERNAL: WS_CLOSE_INTERNAL,
};

/**
 * One WebSocket participant. Authenticates first, then validates every message against the shared
 * schema and dispatches it to the room. Nothing a client sends can throw out of here.
 */
export class Session {
  private peer: Peer | null = null;
  private room: Room | null = null;
  private authenticating = false;
  /** An authenticate frame has been accepted (it may still be queued or running). */
  private authRequested = false;
  private closed = false;
  private readonly authTimer: NodeJS.Timeout;
  private windowStart = Date.now();
  private windowCount = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: SessionSocket,
    private readonly deps: SessionDeps,
  ) {
    this.authTimer = setTimeout(() => {
      if (!this.peer) this.fail(null, new AppError('NOT_AUTHENTICATED', 'Authenticate first.'), WS_CLOSE_POLICY);
    }, AUTH_TIMEOUT_MS);
  }

  /**
   * Entry point for each text frame. Requests run one at a time, in order. A frame that breaks the
   * protocol (too large, too deep, not JSON, not a known request of the right shape, or anything
   * but `authenticate` first) is answered with its error and the socket is closed at once.
   */
  handle(raw: string | Buffer): void {
    if (this.closed) return;
    if (++this.windowCount > MAX_REQUESTS_PER_WINDOW) {
      if (Date.now() - this.windowStart < 10_000) {
        this.fail(null, new AppError('RATE_LIMITED', 'Too many messages.'), WS_CLOSE_POLICY);
        return;
      }
      this.windowStart = Date.now();
      this.windowCount = 0;
    }
    const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
    if (size > MAX_SIGNAL_MESSAGE_BYTES) {
      this.violation(null, new AppError('MESSAGE_TOO_LARGE', `Messages are limited to ${MAX_SIGNAL_MESSAGE_BYTES} bytes.`));
      return;
    }
    let parsed: unknown;
    try {
      parsed = trimStrings(parseUntrustedJson(raw.toString(), MAX_SIGNAL_JSON_DEPTH));
    } catch (error) {
      this.violation(null, error instanceof AppError ? error : new AppError('BAD_MESSAGE', 'The message is not valid JSON.'));
      return;
    }
    const id = requestId(parsed);
    if (!validateRequest.Check(parsed)) {
      const type = requestType(parsed);
      if (type !== null && !CLIENT_REQUEST_TYPES.includes(type as ClientRequestType)) {
        this.violation(id, new AppError('UNKNOWN_MESSAGE', `Unknown message type "${type.slice(0, 40)}".`));
      } else {
        const first = validateRequest.Errors(parsed).First();
        const where = first ? `${first.path || '/'}: ${first.message}` : 'invalid';
        this.violation(id, new AppError('BAD_MESSAGE', `The message does not match the protocol (${where}).`));
      }
      return;
    }
    if (parsed.type === 'authenticate') {
      this.authRequested = true;
    } else if (!this.authRequested) {
      this.violation(parsed.id, new AppError('NOT_AUTHENTICATED', 'Authenticate first.'));
      return;
    }
    const request = parsed;
    this.queue = this.queue.then(() => this.run(request));
  }

  /** Binary frames are not part of the protocol. */
  refuseBinary(): void {
    this.violation(null, new AppError('BAD_MESSAGE', 'Messages are JSON text frames; binary frames are not accepted.'));
  }

  /** The peer broke the protocol: it gets the reason, then the socket closes (RFC 6455 policy). */
  private violation(id: number | null, error: AppError): void {
    this.fail(id, error, WS_CLOSE_POLICY);
  }

  private async run(request: ClientRequest): Promise<void> {
    if (this.closed) return;
    try {
      const data = await this.dispatch(request);
      this.send({ kind: 'response', id: request.id, type: request.type, data } as ServerMessage);
    } catch (error) {
      if (error instanceof AppError) {
        this.sendError(request.id, error.toBody());
        if (!this.peer && request.type === 'authenticate') this.close(WS_CLOSE_POLICY, error.code);
        return;
      }
      // Safety net: a bug met while handling this peer ends this peer's session, not the process
      // or the room (the others stay connected).
      this.deps.logger.error({ err: error, type: request.type }, 'signalling request failed; closing this session');
      this.fail(request.id, new AppError('INTERNAL', 'Something went wrong on the server; reconnecting may help.'), WS_CLOSE_INTERNAL);
    }
  }

  private async dispatch(request: ClientRequest): Promise<ResponseData[ClientRequestType]> {
    if (request.type === 'authenticate') return this.authenticate(request.data.token, request.data.roomId);
    const peer = this.peer;
    const room = this.room;
    if (!peer || !room) throw new AppError('NOT_AUTHENTICATED', 'Authenticate first.');
    if (peer.watcher && !WATCHER_MAY[request.type]) {
      throw new AppError('FORBIDDEN', 'This connection only watches the program preview: it cannot join the meeting, send media or change the broadcast.');
    }
    const access = REQUEST_ACCESS[request.type];
    if (access === 'host' && !this.deps.canHost(peer.userKey, room.id)) {
      throw new AppError('FORBIDDEN', 'Only the hosts of this room can do this.');
    }
    if (access === 'backstage' && !peer.watcher && peer.onAir.camera && !this.deps.canHost(peer.userKey, room.id)) {
      throw new AppError('FORBIDDEN', 'Only the hosts and the people backstage see the program preview.');
    }
    switch (request.type) {
      case 'createTransport':
        return room.createTransport(peer, request.data.direction);
      case 'connectTransport':
        await room.connectTransport(peer, request.data.transportId, request.data.dtlsParameters);
        return {};
      case 'restartIce':
        return room.restartIce(peer, request.data.transportId);
      case 'join':
        return room.join(peer, request.data.rtpCapabilities);
      case 'produce': {
        const { transportId, kind, rtpParameters, source } = request.data;
        return { producerId: await room.produce(peer, transportId, kind, rtpParameters, source) };
      }
      case 'closeProducer':
        room.closeProducer(peer, request.data.producerId);
        return {};
      case 'pauseProducer':
        await room.setProducerPaused(peer, request.data.producerId, true);
        return {};
      case 'resumeProducer':
        await room.setProducerPaused(peer, request.data.producerId, false);
        return {};
      case 'resumeConsumer':
        await room.resumeConsumer(peer, request.data.consumerId);
        return {};
      case 'setPreferredLayers':
        await room.setPreferredLayers(peer, request.data.consumerId, request.data.spatialLayer);
        return {};
      case 'leave':
        room.removePeer(peer);
        setImmediate(() => this.close(1000, 'left'));
        return {};
      case 'startBroadcast':
        return this.deps.broadcasts.start(room, peer, request.data);
      case 'updateBroadcast':
        return this.deps.broadcasts.update(room, peer, request.data);
      case 'stopBroadcast':
        await this.deps.broadcasts.stop(room, peer);
        return {};
      case 'setOnAir':
        room.setOnAir(peer, request.data.peerId, request.data.source ?? 'all', request.data.onAir);
        return {};
      case 'consumePreview':
        return room.consumePreview(peer, request.data.rtpCapabilities);
      default:
        return assertNever(request);
    }
  }

  private async authenticate(token: string, roomId: string | undefined): Promise<ResponseData['authenticate']> {
    if (this.peer || this.authenticating) throw new AppError('BAD_REQUEST', 'Already authenticated.');
    this.authenticating = true;
    try {
      const claims = this.deps.tokens.verifySocket(token);
      if (roomId !== undefined && roomId !== claims.room) throw new AppError('WRONG_ROOM', 'This token is for another meeting.');
      const notify: Peer['notify'] = (event, data) => this.notify(event, data);
      let peer: Peer;
      let room: Room;
      if (claims.typ === 'preview') {
        const role = this.deps.admitWatcher(claims);
        const open = this.deps.findRoom(claims.room);
        if (!open || open.closed) throw new AppError('NOT_LIVE', 'This room is not live: there is no program to watch.');
        room = open;
        peer = new Peer({ id: randomUUID(), userKey: claims.sub, displayName: claims.name, role, watcher: true, notify });
        room.addWatcher(peer);
      } else {
        const role = this.deps.admit(claims);
        room = await this.deps.openRoom(claims.room);
        if (this.closed) throw new AppError('NOT_AUTHENTICATED', 'The connection closed.');
        peer = new Peer({
          id: randomUUID(),
          userKey: claims.sub,
          displayName: claims.name,
          role,
          onAir: role === 'guest' && this.deps.guestsStartBackstage?.(claims.room) ? { camera: false, screen: false } : { camera: true, screen: true },
          notify,
        });
        room.addPeer(peer);
      }
      this.peer = peer;
      this.room = room;
      clearTimeout(this.authTimer);
      return {
        peerId: peer.id,
        roomId: room.id,
        roomName: room.name,
        role: peer.role,
        displayName: peer.displayName,
        routerRtpCapabilities: toClientRtpCapabilities(room.router.rtpCapabilities),
        iceServers: this.deps.iceServers(peer.id),
      };
    } finally {
      this.authenticating = false;
    }
  }

  private notify<E extends NotificationEvent>(event: E, data: NotificationData[E]): void {
    this.send({ kind: 'notification', event, data } as ServerMessage);
    if (event === 'closing') {
      const reason = (data as ErrorBody).code;
      this.peer = null;
      setImmediate(() => this.close(CLOSE_CODES[reason] ?? WS_CLOSE_ROOM_CLOSED, reason));
    }
  }

  private send(message: ServerMessage): void {
    if (this.closed) return;
    try {
      this.socket.send(JSON.stringify(message));
    } catch (error) {
      this.deps.logger.debug({ err: error }, 'send on a closing socket');
    }
  }

  private sendError(id: number | null, error: ErrorBody): void {
    this.send({ kind: 'error', id, error });
  }

  private fail(id: number | null, error: AppError, closeCode: number): void {
    this.sendError(id, error.toBody());
    this.close(closeCode, error.code);
  }

  private close(code: number, reason: string): void {
    if (this.closed) return;
    this.onSocketClosed();
    try {
      this.socket.close(code, reason);
    } catch {
      // already closed
    }
  }

  /** The socket went away (or we closed it): the peer leaves its room. */
  onSocketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.authTimer);
    if (this.peer && this.room) this.room.removePeer(this.peer);
    this.peer = null;
    this.room = null;
  }
}

function requestId(value: unknown): number | null {
  if (typeof value === 'object' && value !== null && 'id' in value && Number.isInteger(value.id)) return Number(value.id);
  return null;
}

function requestType(value: unknown): string | null {
  if (typeof value === 'object' && value !== null && 'type' in value && typeof value.type === 'string') return value.type;
  return null;
}
