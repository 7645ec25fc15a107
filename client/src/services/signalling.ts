/**
 * WebSocket client for the signalling protocol in @onair/shared (protocol.ts): numbered requests
 * answered by one response or error, server-pushed notifications, and close detection.
 *
 * Every server message is checked at this edge against the schemas the server's own tests hold
 * it to (shared/src/protocol.ts: Responses, Notifications, ErrorMessage).
 */
import {
  ErrorMessage,
  NOTIFICATION_EVENTS,
  Notifications,
  Responses,
  type ClientRequestType,
  type ErrorBody,
  type NotificationData,
  type NotificationEvent,
  type RequestData,
  type ResponseData,
} from '@onair/shared';
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
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
// Every server message is checked against the shared protocol's schemas (Responses,
// Notifications, ErrorMessage in @onair/shared). TypeBox's Value.Check interprets the schema;
// its compiled form (TypeCompiler) builds code with `new Function`, which this page's CSP
// (script-src 'self', no 'unsafe-eval') forbids, and signalling rates make the difference moot.

function matches<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  return Value.Check(schema, value);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNotification(msg: { event: string; data: unknown }): msg is Notification {
  return (NOTIFICATION_EVENTS as string[]).includes(msg.event) && matches(Notifications[msg.event as NotificationEvent], msg.data);
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
      const schema: TSchema = Responses[type];
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalError('TIMEOUT', errorWords('TIMEOUT'), `${type} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        type,
        accept: (payload) => {
          if (!matches(schema, payload)) return false;
          if (type === 'authenticate') this.authenticated = true;
          resolve(payload as ResponseData[T]);
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

    if (matches(ErrorMessage, msg)) {
      const p = msg.id !== null ? this.pending.get(msg.id) : undefined;
      if (p && msg.id !== null) {
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
