/**
 * The signalling protocol between the meeting client and the server, over one WebSocket per
 * participant (`/ws`). Every client message is a request `{ id, type, data }` answered by exactly
 * one response `{ kind: 'response', id, data }` or error `{ kind: 'error', id, error }`; the server
 * also pushes notifications `{ kind: 'notification', event, data }`.
 *
 * The first request on a socket must be `authenticate`; anything else first is refused with
 * NOT_AUTHENTICATED and the socket closed.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { DtlsParameters, RtpCapabilities, RtpParameters } from 'mediasoup-client/types';
import type { ErrorBody } from './errors.js';
import { BroadcastLayout, Resolution, type BroadcastStatus } from './broadcast.js';

/** Largest text frame the server accepts; larger ones get MESSAGE_TOO_LARGE. */
export const MAX_SIGNAL_MESSAGE_BYTES = 64 * 1024;

const Id = Type.String({ minLength: 1, maxLength: 64 });

const Loose = { additionalProperties: true } as const;

/** Checked structurally here; mediasoup checks the rest and its refusal becomes BAD_MESSAGE. */
export const DtlsParametersSchema = Type.Unsafe<DtlsParameters>(
  Type.Object(
    {
      role: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('client'), Type.Literal('server')])),
      fingerprints: Type.Array(
        Type.Object({ algorithm: Type.String({ maxLength: 32 }), value: Type.String({ maxLength: 256 }) }),
        { minItems: 1, maxItems: 8 },
      ),
    },
    Loose,
  ),
);

const CodecSchema = Type.Object(
  { mimeType: Type.String({ maxLength: 64 }), clockRate: Type.Integer({ minimum: 1 }) },
  Loose,
);

export const RtpParametersSchema = Type.Unsafe<RtpParameters>(
  Type.Object(
    {
      codecs: Type.Array(Type.Intersect([CodecSchema, Type.Object({ payloadType: Type.Integer({ minimum: 0, maximum: 127 }) }, Loose)]), { minItems: 1, maxItems: 16 }),
      encodings: Type.Optional(Type.Array(Type.Object({}, Loose), { maxItems: 8 })),
      headerExtensions: Type.Optional(Type.Array(Type.Object({}, Loose), { maxItems: 32 })),
      mid: Type.Optional(Type.String({ maxLength: 32 })),
    },
    Loose,
  ),
);

export const RtpCapabilitiesSchema = Type.Unsafe<RtpCapabilities>(
  Type.Object(
    {
      codecs: Type.Optional(Type.Array(Type.Intersect([CodecSchema, Type.Object({ kind: Type.String() }, Loose)]), { maxItems: 64 })),
      headerExtensions: Type.Optional(Type.Array(Type.Object({}, Loose), { maxItems: 64 })),
    },
    Loose,
  ),
);

export const MediaSource = Type.Union([Type.Literal('mic'), Type.Literal('camera'), Type.Literal('screen')]);
export type MediaSource = Static<typeof MediaSource>;

export const MediaKind = Type.Union([Type.Literal('audio'), Type.Literal('video')]);
export type MediaKind = Static<typeof MediaKind>;

export const Role = Type.Union([Type.Literal('admin'), Type.Literal('host'), Type.Literal('guest')]);
export type Role = Static<typeof Role>;

function request<T extends string, D extends TSchema>(type: T, data: D) {
  return Type.Object({ id: Type.Integer({ minimum: 0 }), type: Type.Literal(type), data }, { additionalProperties: false });
}

export const AuthenticateRequest = request(
  'authenticate',
  Type.Object({
    token: Type.String({ minLength: 1, maxLength: 4096 }),
    /** The room the client means to enter; a token for another room is refused with WRONG_ROOM. */
    roomId: Type.Optional(Id),
  }),
);
export const CreateTransportRequest = request('createTransport', Type.Object({ direction: Type.Union([Type.Literal('send'), Type.Literal('recv')]) }));
export const ConnectTransportRequest = request('connectTransport', Type.Object({ transportId: Id, dtlsParameters: DtlsParametersSchema }));
export const RestartIceRequest = request('restartIce', Type.Object({ transportId: Id }));
export const JoinRequest = request('join', Type.Object({ rtpCapabilities: RtpCapabilitiesSchema }));
export const ProduceRequest = request(
  'produce',
  Type.Object({ transportId: Id, kind: MediaKind, rtpParameters: RtpParametersSchema, source: MediaSource }),
);
export const CloseProducerRequest = request('closeProducer', Type.Object({ producerId: Id }));
export const PauseProducerRequest = request('pauseProducer', Type.Object({ producerId: Id }));
export const ResumeProducerRequest = request('resumeProducer', Type.Object({ producerId: Id }));
export const ResumeConsumerRequest = request('resumeConsumer', Type.Object({ consumerId: Id }));
export const SetPreferredLayersRequest = request(
  'setPreferredLayers',
  Type.Object({ consumerId: Id, spatialLayer: Type.Integer({ minimum: 0, maximum: 2 }) }),
);
export const LeaveRequest = request('leave', Type.Object({}));
export const StartBroadcastRequest = request(
  'startBroadcast',
  Type.Object({
    destinationIds: Type.Array(Id, { minItems: 1, maxItems: 8, uniqueItems: true }),
    layout: Type.Optional(BroadcastLayout),
    resolution: Type.Optional(Resolution),
    title: Type.Optional(Type.String({ maxLength: 120 })),
    lowerThird: Type.Optional(Type.String({ maxLength: 120 })),
    record: Type.Optional(Type.Boolean()),
  }),
);
export const UpdateBroadcastRequest = request(
  'updateBroadcast',
  Type.Object({
    layout: Type.Optional(BroadcastLayout),
    title: Type.Optional(Type.String({ maxLength: 120 })),
    lowerThird: Type.Optional(Type.String({ maxLength: 120 })),
    addDestinationIds: Type.Optional(Type.Array(Id, { maxItems: 8, uniqueItems: true })),
    removeDestinationIds: Type.Optional(Type.Array(Id, { maxItems: 8, uniqueItems: true })),
  }),
);
export const StopBroadcastRequest = request('stopBroadcast', Type.Object({}));

export const ClientRequest = Type.Union([
  AuthenticateRequest,
  CreateTransportRequest,
  ConnectTransportRequest,
  RestartIceRequest,
  JoinRequest,
  ProduceRequest,
  CloseProducerRequest,
  PauseProducerRequest,
  ResumeProducerRequest,
  ResumeConsumerRequest,
  SetPreferredLayersRequest,
  LeaveRequest,
  StartBroadcastRequest,
  UpdateBroadcastRequest,
  StopBroadcastRequest,
]);
export type ClientRequest = Static<typeof ClientRequest>;
export type ClientRequestType = ClientRequest['type'];
export const CLIENT_REQUEST_TYPES: readonly ClientRequestType[] = ClientRequest.anyOf.map((s) => s.properties.type.const);
export type RequestData<T extends ClientRequestType> = Extract<ClientRequest, { type: T }>['data'];

export interface ProducerInfo {
  id: string;
  source: MediaSource;
  kind: MediaKind;
  paused: boolean;
}

export interface PeerInfo {
  id: string;
  displayName: string;
  role: Role;
  producers: ProducerInfo[];
}

export interface TransportOptions {
  id: string;
  iceParameters: unknown;
  iceCandidates: unknown[];
  dtlsParameters: unknown;
}

/** What each request answers with. */
export interface ResponseData {
  authenticate: {
    peerId: string;
    roomId: string;
    roomName: string;
    role: Role;
    displayName: string;
    routerRtpCapabilities: RtpCapabilities;
  };
  createTransport: TransportOptions;
  connectTransport: Record<string, never>;
  restartIce: { iceParameters: unknown };
  join: { peers: PeerInfo[]; activeSpeakerId: string | null; broadcast: BroadcastStatus | null };
  produce: { producerId: string };
  closeProducer: Record<string, never>;
  pauseProducer: Record<string, never>;
  resumeProducer: Record<string, never>;
  resumeConsumer: Record<string, never>;
  setPreferredLayers: Record<string, never>;
  leave: Record<string, never>;
  startBroadcast: { broadcast: BroadcastStatus };
  updateBroadcast: { broadcast: BroadcastStatus };
  stopBroadcast: Record<string, never>;
}

export interface NotificationData {
  peerJoined: { peer: PeerInfo };
  peerUpdated: { peer: PeerInfo };
  peerLeft: { peerId: string };
  newConsumer: {
    consumerId: string;
    producerId: string;
    peerId: string;
    kind: MediaKind;
    source: MediaSource;
    rtpParameters: RtpParameters;
    producerPaused: boolean;
  };
  consumerClosed: { consumerId: string };
  consumerPaused: { consumerId: string };
  consumerResumed: { consumerId: string };
  activeSpeaker: { peerId: string | null };
  broadcast: { broadcast: BroadcastStatus | null };
  /** The server is closing this session; `code` says why (REPLACED, ROOM_CLOSED, ...). */
  closing: ErrorBody;
}
export type NotificationEvent = keyof NotificationData;

export type ServerMessage =
  | { [T in ClientRequestType]: { kind: 'response'; id: number; type: T; data: ResponseData[T] } }[ClientRequestType]
  | { kind: 'error'; id: number | null; error: ErrorBody }
  | { [E in NotificationEvent]: { kind: 'notification'; event: E; data: NotificationData[E] } }[NotificationEvent];
