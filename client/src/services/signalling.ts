/**
 * WebSocket client for the signalling protocol in @onair/shared (protocol.ts): numbered requests
 * answered by one response or error, server-pushed notifications, and close detection.
 *
 * Every server message is checked at this edge: the envelope fully, the payload structurally
 * (shared/ defines the server messages as types only, so the checks live here).
 */
import type {
  BroadcastStatus,
  ClientRequestType,
  ErrorBody,
  NotificationData,
  NotificationEvent,
  PeerInfo,
  RequestData,
  ResponseData,
} from '@onair/shared';
import type { DtlsParameters, IceCandidate, IceParameters } from 'mediasoup-client/types';
import { errorWords } from './errors';

/** A refused or failed request; `code` is a server ErrorCode or a client one (TIMEOUT, CONNECTION_LOST). */
export class SignalError extends Error {
  override readonly name = 'SignalError';
  constructor(
    readonly code: string,
    message: string,
    /** The server's own message, for logs. */
    readonly serverMessage: string = message,
  ) {
    super(message);
  }
}

export type Notification = {
  [E in NotificationEvent]: { event: E; data: NotificationData[E] };
}[NotificationEvent];

export interface CloseInfo {
  /** WebSocket close code (1000 normal, 1006 abnormal, ...). */
  code: number;
  reason: string;
  /** True when this side called close(). */
  byClient: boolean;
  /** The last error the server sent without a request id, if any (e.g. NOT_AUTHENTICATED). */
  serverError: ErrorBody | null;
}

/** Default time a request may wait for its answer. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** Default time to wait for the socket to open. */
export const CONNECT_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Payload guards. Shallow on purpose: they prove the fields this client reads are there.

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isStr(v: unknown): v is string {
  return typeof v === 'string';
}
function isStrOrNull(v: unknown): v is string | null {
  return v === null || typeof v === 'string';
}
function isEmpty(v: unknown): v is Record<string, never> {
  // Replies without data are `{}`; tolerate a missing body too.
  return v === undefined || v === null || isObj(v);
}
function isMediaKind(v: unknown): v is 'audio' | 'video' {
  return v === 'audio' || v === 'video';
}
export function isMediaSource(v: unknown): v is 'mic' | 'camera' | 'screen' {
  return v === 'mic' || v === 'camera' || v === 'screen';
}
function isRole(v: unknown): v is 'admin' | 'host' | 'guest' {
  return v === 'admin' || v === 'host' || v === 'guest';
}

export function isPeerInfo(v: unknown): v is PeerInfo {
  return (
    isObj(v) &&
    isStr(v.id) &&
    isStr(v.displayName) &&
    isRole(v.role) &&
    Array.isArray(v.producers) &&
    v.producers.every(
      (p) => isObj(p) && isStr(p.id) && isMediaSource(p.source) && isMediaKind(p.kind) && typeof p.paused === 'boolean',
    )
  );
}

export function isBroadcastStatus(v: unknown): v is BroadcastStatus {
  return (
    isObj(v) &&
    isStr(v.id) &&
    isStr(v.state) &&
    isStr(v.startedAt) &&
    isStr(v.layout) &&
    Array.isArray(v.destinations) &&
    v.destinations.every((d) => isObj(d) && isStr(d.destinationId) && isStr(d.state))
  );
}

function isTransportOptions(v: unknown): v is ResponseData['createTransport'] {
  return isObj(v) && isStr(v.id) && isObj(v.iceParameters) && Array.isArray(v.iceCandidates) && isObj(v.dtlsParameters);
}

type Guards<M> = { [K in keyof M]: (data: unknown) => data is M[K] };

const responseGuards: Guards<ResponseData> = {
  authenticate: (d): d is ResponseData['authenticate'] =>
    isObj(d) &&
    isStr(d.peerId) &&
    isStr(d.roomId) &&
    isStr(d.roomName) &&
    isRole(d.role) &&
    isStr(d.displayName) &&
    isObj(d.routerRtpCapabilities),
  createTransport: isTransportOptions,
  connectTransport: isEmpty,
  restartIce: (d): d is ResponseData['restartIce'] => isObj(d) && isObj(d.iceParameters),
  join: (d): d is ResponseData['join'] =>
    isObj(d) &&
    Array.isArray(d.peers) &&
    d.peers.every(isPeerInfo) &&
    isStrOrNull(d.activeSpeakerId ?? null) &&
    (d.broadcast === null || d.broadcast === undefined || isBroadcastStatus(d.broadcast)),
  produce: (d): d is ResponseData['produce'] => isObj(d) && isStr(d.producerId),
  closeProducer: isEmpty,
  pauseProducer: isEmpty,
  resumeProducer: isEmpty,
  resumeConsumer: isEmpty,
  setPreferredLayers: isEmpty,
  leave: isEmpty,
  startBroadcast: (d): d is ResponseData['startBroadcast'] => isObj(d) && isBroadcastStatus(d.broadcast),
  updateBroadcast: (d): d is ResponseData['updateBroadcast'] => isObj(d) && isBroadcastStatus(d.broadcast),
  stopBroadcast: isEmpty,
};

const notificationGuards: Guards<NotificationData> = {
  peerJoined: (d): d is NotificationData['peerJoined'] => isObj(d) && isPeerInfo(d.peer),
  peerUpdated: (d): d is NotificationData['peerUpdated'] => isObj(d) && isPeerInfo(d.peer),
  peerLeft: (d): d is NotificationData['peerLeft'] => isObj(d) && isStr(d.peerId),
  newConsumer: (d): d is NotificationData['newConsumer'] =>
    isObj(d) &&
    isStr(d.consumerId) &&
    isStr(d.producerId) &&
    isStr(d.peerId) &&
    isMediaKind(d.kind) &&
    isMediaSource(d.source) &&
    isObj(d.rtpParameters) &&
    Array.isArray(d.rtpParameters.codecs) &&
    typeof d.producerPaused === 'boolean',
  consumerClosed: (d): d is NotificationData['consumerClosed'] => isObj(d) && isStr(d.consumerId),
  consumerPaused: (d): d is NotificationData['consumerPaused'] => isObj(d) && isStr(d.consumerId),
  consumerResumed: (d): d is NotificationData['consumerResumed'] => isObj(d) && isStr(d.consumerId),
  activeSpeaker: (d): d is NotificationData['activeSpeaker'] => isObj(d) && isStrOrNull(d.peerId),
  broadcast: (d): d is NotificationData['broadcast'] =>
    isObj(d) && (d.broadcast === null || isBroadcastStatus(d.broadcast)),
  closing: (d): d is NotificationData['closing'] => isObj(d) && isStr(d.code) && isStr(d.message),
};

function isNotificationEvent(event: string): event is NotificationEvent {
  return Object.prototype.hasOwnProperty.call(notificationGuards, event);
}

function isNotification(msg: { event: string; data: unknown }): msg is Notification {
  return isNotificationEvent(msg.event) && notificationGuards[msg.event](msg.data);
}

function isErrorBody(v: unknown): v is ErrorBody {
  return isObj(v) && isStr(v.code) && isStr(v.message);
}

// ---------------------------------------------------------------------------------------------

interface Pending {
  type: ClientRequestType;
  accept: (data: unknown) => boolean;
  reject: (err: SignalError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** The signalling URL for this page: same origin, ws:// or wss:// to match the page. */
export function signallingUrl(path = '/ws'): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

/** One signalling socket. Open it with `SignalConnection.connect()`; the first request must be `authenticate`. */
export class SignalConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly notificationListeners = new Set<(n: Notification) => void>();
  private readonly closeListeners = new Set<(info: CloseInfo) => void>();
  private authenticated = false;
  private closedByClient = false;
  private lastServerError: ErrorBody | null = null;
  private _closed = false;

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (ev) => this.onMessage(ev));
    ws.addEventListener('close', (ev) => this.handleClose(ev.code, ev.reason));
  }

  /** Opens the socket; rejects with NETWORK if it cannot be opened within `timeoutMs`. */
  static connect(url: string = signallingUrl(), timeoutMs = CONNECT_TIMEOUT_MS): Promise<SignalConnection> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url);
      } catch {
        reject(new SignalError('NETWORK', errorWords('NETWORK')));
        return;
      }
      const fail = () => {
        clearTimeout(timer);
        ws.removeEventListener('open', onOpen);
        try {
          ws.close();
        } catch {
          // already closing
        }
        reject(new SignalError('NETWORK', errorWords('NETWORK')));
      };
      const onOpen = () => {
        clearTimeout(timer);
        ws.removeEventListener('error', fail);
        ws.removeEventListener('close', fail);
        resolve(new SignalConnection(ws));
      };
      const timer = setTimeout(fail, timeoutMs);
      ws.addEventListener('open', onOpen, { once: true });
      ws.addEventListener('error', fail, { once: true });
      ws.addEventListener('close', fail, { once: true });
    });
  }

  get closed(): boolean {
    return this._closed;
  }

  /** Sends a request and resolves with its typed response; rejects with SignalError. */
  request<T extends ClientRequestType>(
    type: T,
    data: RequestData<T>,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<ResponseData[T]> {
    return new Promise<ResponseData[T]>((resolve, reject) => {
      if (this._closed || this.ws.readyState !== WebSocket.OPEN) {
        reject(new SignalError('CONNECTION_LOST', errorWords('CONNECTION_LOST')));
        return;
      }
      if (type !== 'authenticate' && !this.authenticated) {
        reject(new SignalError('NOT_AUTHENTICATED', errorWords('NOT_AUTHENTICATED'), `${type} before authenticate`));
        return;
      }
      const id = this.nextId++;
      const guard: (d: unknown) => d is ResponseData[T] = responseGuards[type];
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalError('TIMEOUT', errorWords('TIMEOUT'), `${type} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        type,
        accept: (payload) => {
          if (!guard(payload)) return false;
          if (type === 'authenticate') this.authenticated = true;
          resolve(payload);
          return true;
        },
        reject,
        timer,
      });
      try {
        this.ws.send(JSON.stringify({ id, type, data }));
      } catch {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new SignalError('CONNECTION_LOST', errorWords('CONNECTION_LOST')));
      }
    });
  }

  /** Listens to every server notification; returns a function that stops listening. */
  onNotification(listener: (n: Notification) => void): () => void {
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  /** Called once when the socket closes, whoever closed it; returns a function that stops listening. */
  onClose(listener: (info: CloseInfo) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Closes the socket; pending requests reject with CONNECTION_LOST. */
  close(code = 1000, reason = 'client closed'): void {
    if (this._closed) return;
    this.closedByClient = true;
    try {
      this.ws.close(code, reason);
    } catch {
      // ignore: the socket is already gone
    }
    this.handleClose(code, reason);
  }

  private handleClose(code: number, reason: string): void {
    if (this._closed) return;
    this._closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new SignalError('CONNECTION_LOST', errorWords('CONNECTION_LOST'), `socket closed (${code}) during ${p.type}`));
    }
    this.pending.clear();
    const info: CloseInfo = { code, reason, byClient: this.closedByClient, serverError: this.lastServerError };
    for (const listener of this.closeListeners) {
      try {
        listener(info);
      } catch (err) {
        console.error('[signalling] close listener threw', err);
      }
    }
    this.closeListeners.clear();
    this.notificationListeners.clear();
  }

  private onMessage(ev: MessageEvent): void {
    if (typeof ev.data !== 'string') return;
    let msg: unknown;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      console.warn('[signalling] dropped a message that is not JSON');
      return;
    }
    if (!isObj(msg)) return;

    if (msg.kind === 'response' && typeof msg.id === 'number') {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (!p.accept(msg.data)) {
        console.warn(`[signalling] ${p.type} response did not match the protocol`, msg.data);
        p.reject(new SignalError('BAD_REPLY', errorWords('BAD_REPLY'), `${p.type} response did not match the protocol`));
      }
      return;
    }

    if (msg.kind === 'error' && isErrorBody(msg.error)) {
      const p = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
      if (p && typeof msg.id === 'number') {
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        p.reject(new SignalError(msg.error.code, errorWords(msg.error.code, msg.error.message), msg.error.message));
      } else {
        this.lastServerError = msg.error;
        console.warn(`[signalling] server error ${msg.error.code}: ${msg.error.message}`);
      }
      return;
    }

    if (msg.kind === 'notification' && typeof msg.event === 'string') {
      const candidate = { event: msg.event, data: msg.data };
      if (!isNotification(candidate)) {
        console.warn(`[signalling] dropped notification "${msg.event}" that does not match the protocol`, msg.data);
        return;
      }
      for (const listener of this.notificationListeners) {
        try {
          listener(candidate);
        } catch (err) {
          console.error(`[signalling] ${candidate.event} listener threw`, err);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Transport options arrive as `unknown` in the protocol; these prove the shape mediasoup-client needs.

export function isIceParameters(v: unknown): v is IceParameters {
  return isObj(v) && isStr(v.usernameFragment) && isStr(v.password);
}

export function isIceCandidates(v: unknown): v is IceCandidate[] {
  return (
    Array.isArray(v) &&
    v.every(
      (c) =>
        isObj(c) &&
        isStr(c.foundation) &&
        typeof c.priority === 'number' &&
        (isStr(c.address) || isStr(c.ip)) &&
        typeof c.port === 'number' &&
        (c.protocol === 'udp' || c.protocol === 'tcp'),
    )
  );
}

export function isDtlsParameters(v: unknown): v is DtlsParameters {
  return (
    isObj(v) &&
    Array.isArray(v.fingerprints) &&
    v.fingerprints.length > 0 &&
    v.fingerprints.every((f) => isObj(f) && isStr(f.algorithm) && isStr(f.value))
  );
}
