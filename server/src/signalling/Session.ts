import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  assertNever,
  ClientRequest,
  CLIENT_REQUEST_TYPES,
  MAX_SIGNAL_MESSAGE_BYTES,
  type ClientRequestType,
  type ErrorBody,
  type NotificationData,
  type NotificationEvent,
  type ResponseData,
  type ServerMessage,
} from '@onair/shared';
import { randomUUID } from 'node:crypto';
import type { Tokens } from '../auth/tokens.js';
import { AppError, toErrorBody } from '../errors.js';
import type { Logger } from '../logger.js';
import { Peer } from '../sfu/Peer.js';
import type { Room } from '../sfu/Room.js';
import { toClientRtpCapabilities } from '../sfu/wire.js';

const validateRequest = TypeCompiler.Compile(ClientRequest);

/** What a session needs from the rest of the server. */
export interface SessionDeps {
  tokens: Tokens;
  /** Opens (or finds) the live room for a stored room id; throws ROOM_NOT_FOUND. */
  openRoom: (roomId: string) => Promise<Room>;
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

/** Time a new socket has to authenticate before it is closed. */
const AUTH_TIMEOUT_MS = 10_000;
/** Sustained request rate above which a socket is cut off (per 10 s window). */
const MAX_REQUESTS_PER_WINDOW = 400;
export const WS_CLOSE_POLICY = 4001;
export const WS_CLOSE_REPLACED = 4002;
export const WS_CLOSE_ROOM_CLOSED = 4003;
export const WS_CLOSE_RESTARTING = 4004;

/**
 * One WebSocket participant. Authenticates first, then validates every message against the shared
 * schema and dispatches it to the room. Nothing a client sends can throw out of here.
 */
export class Session {
  private peer: Peer | null = null;
  private room: Room | null = null;
  private authenticating = false;
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

  /** Entry point for each text frame. Requests run one at a time, in order. */
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
      this.sendError(null, { code: 'MESSAGE_TOO_LARGE', message: `Messages are limited to ${MAX_SIGNAL_MESSAGE_BYTES} bytes.` });
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString());
    } catch {
      this.sendError(null, { code: 'BAD_MESSAGE', message: 'The message is not valid JSON.' });
      return;
    }
    const id = requestId(parsed);
    if (!validateRequest.Check(parsed)) {
      const type = requestType(parsed);
      if (type !== null && !CLIENT_REQUEST_TYPES.includes(type as ClientRequestType)) {
        this.sendError(id, { code: 'UNKNOWN_MESSAGE', message: `Unknown message type "${type.slice(0, 40)}".` });
      } else {
        const first = validateRequest.Errors(parsed).First();
        const where = first ? `${first.path || '/'}: ${first.message}` : 'invalid';
        this.sendError(id, { code: 'BAD_MESSAGE', message: `The message does not match the protocol (${where}).` });
      }
      if (!this.peer && type !== 'authenticate') this.close(WS_CLOSE_POLICY, 'not authenticated');
      return;
    }
    const request = parsed;
    this.queue = this.queue.then(() => this.run(request));
  }

  /** Binary frames are not part of the protocol. */
  refuseBinary(): void {
    this.sendError(null, { code: 'BAD_MESSAGE', message: 'Messages are JSON text frames; binary frames are not accepted.' });
  }

  private async run(request: ClientRequest): Promise<void> {
    if (this.closed) return;
    try {
      const data = await this.dispatch(request);
      this.send({ kind: 'response', id: request.id, type: request.type, data } as ServerMessage);
    } catch (error) {
      if (!(error instanceof AppError)) this.deps.logger.error({ err: error, type: request.type }, 'signalling request failed');
      this.sendError(request.id, toErrorBody(error));
      if (!this.peer && request.type === 'authenticate') this.close(WS_CLOSE_POLICY, 'authentication failed');
    }
  }

  private async dispatch(request: ClientRequest): Promise<ResponseData[ClientRequestType]> {
    if (request.type === 'authenticate') return this.authenticate(request.data.token, request.data.roomId);
    const peer = this.peer;
    const room = this.room;
    if (!peer || !room) throw new AppError('NOT_AUTHENTICATED', 'Authenticate first.');
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
        this.assertCanBroadcast(peer);
        return this.deps.broadcasts.start(room, peer, request.data);
      case 'updateBroadcast':
        this.assertCanBroadcast(peer);
        return this.deps.broadcasts.update(room, peer, request.data);
      case 'stopBroadcast':
        this.assertCanBroadcast(peer);
        await this.deps.broadcasts.stop(room, peer);
        return {};
      default:
        return assertNever(request);
    }
  }

  private assertCanBroadcast(peer: Peer): void {
    if (!peer.canBroadcast) throw new AppError('FORBIDDEN', 'Only hosts can go live.');
  }

  private async authenticate(token: string, roomId: string | undefined): Promise<ResponseData['authenticate']> {
    if (this.peer || this.authenticating) throw new AppError('BAD_REQUEST', 'Already authenticated.');
    this.authenticating = true;
    try {
      const claims = this.deps.tokens.verifyRoom(token);
      if (roomId !== undefined && roomId !== claims.room) throw new AppError('WRONG_ROOM', 'This token is for another meeting.');
      const room = await this.deps.openRoom(claims.room);
      if (this.closed) throw new AppError('NOT_AUTHENTICATED', 'The connection closed.');
      const peer = new Peer({
        id: randomUUID(),
        userKey: claims.sub,
        displayName: claims.name,
        role: claims.role,
        notify: (event, data) => this.notify(event, data),
      });
      room.addPeer(peer);
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
      };
    } finally {
      this.authenticating = false;
    }
  }

  private notify<E extends NotificationEvent>(event: E, data: NotificationData[E]): void {
    this.send({ kind: 'notification', event, data } as ServerMessage);
    if (event === 'closing') {
      const code = (data as ErrorBody).code === 'REPLACED' ? WS_CLOSE_REPLACED : (data as ErrorBody).code === 'SERVER_RESTARTING' ? WS_CLOSE_RESTARTING : WS_CLOSE_ROOM_CLOSED;
      this.peer = null;
      setImmediate(() => this.close(code, (data as ErrorBody).code));
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
