/**
 * The signalling protocol between the meeting client and the server, over one WebSocket per
 * participant (`/ws`). Every client message is a request `{ id, type, data }` answered by exactly
 * one response `{ kind: 'response', id, data }` or error `{ kind: 'error', id, error }`; the server
 * also pushes notifications `{ kind: 'notification', event, data }`.
 *
 * The first request on a socket must be `authenticate`; anything else first is refused with
 * NOT_AUTHENTICATED and the socket closed.
 */
import { Type, type Static, type TProperties, type TSchema } from '@sinclair/typebox';
import type { DtlsParameters, IceCandidate, IceParameters, RtpCapabilities, RtpParameters } from 'mediasoup-client/types';
import type { ErrorBody } from './errors.js';
import { BroadcastLayout, BroadcastStatus, IdleTimeoutMinutes, LogoCorner, Resolution, SLATE_TEXT_MAX, VerticalLayout } from './broadcast.js';

/** Largest text frame the server accepts; larger ones get MESSAGE_TOO_LARGE. */
export const MAX_SIGNAL_MESSAGE_BYTES = 64 * 1024;

const Id = Type.String({ minLength: 1, maxLength: 64 });

/**
 * Every object in the protocol is closed (`additionalProperties: false`) and every string, number
 * and array is bounded, so nothing a client sends can reach mediasoup or the database unbounded
 * (a 40 kB frame of nested `rtpCapabilities` once overflowed the stack inside mediasoup's clone).
 * The shapes follow mediasoup-client's RtpParameters.d.ts; mediasoup checks the values.
 */
const Closed = { additionalProperties: false } as const;
const Str = (maxLength: number) => Type.String({ maxLength });
const Uint = (maximum: number) => Type.Integer({ minimum: 0, maximum });
const Kind = Type.Union([Type.Literal('audio'), Type.Literal('video')]);
/** Codec parameters (`profile-level-id`, `useinbandfec`, ...): flat, a few dozen at most. */
const CodecParameters = Type.Record(Type.String({ maxLength: 64 }), Type.Union([Str(256), Type.Number(), Type.Boolean()]), {
  maxProperties: 32,
});
const RtcpFeedback = Type.Object({ type: Str(32), parameter: Type.Optional(Str(32)) }, Closed);
const Priority = Type.Union([Type.Literal('very-low'), Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')]);

export const DtlsParametersSchema = Type.Unsafe<DtlsParameters>(
  Type.Object(
    {
      role: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('client'), Type.Literal('server')])),
      fingerprints: Type.Array(Type.Object({ algorithm: Str(32), value: Str(256) }, Closed), { minItems: 1, maxItems: 8 }),
    },
    Closed,
  ),
);

export const RtpParametersSchema = Type.Unsafe<RtpParameters>(
  Type.Object(
    {
      mid: Type.Optional(Str(32)),
      msid: Type.Optional(Str(256)),
      codecs: Type.Array(
        Type.Object(
          {
            mimeType: Str(64),
            payloadType: Uint(127),
            clockRate: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
            channels: Type.Optional(Uint(8)),
            parameters: Type.Optional(CodecParameters),
            rtcpFeedback: Type.Optional(Type.Array(RtcpFeedback, { maxItems: 16 })),
          },
          Closed,
        ),
        { minItems: 1, maxItems: 16 },
      ),
      headerExtensions: Type.Optional(
        Type.Array(
          Type.Object({ uri: Str(256), id: Uint(255), encrypt: Type.Optional(Type.Boolean()), parameters: Type.Optional(CodecParameters) }, Closed),
          { maxItems: 32 },
        ),
      ),
      encodings: Type.Optional(
        Type.Array(
          Type.Object(
            {
              active: Type.Optional(Type.Boolean()),
              ssrc: Type.Optional(Uint(0xffffffff)),
              rid: Type.Optional(Str(32)),
              codecPayloadType: Type.Optional(Uint(127)),
              rtx: Type.Optional(Type.Object({ ssrc: Uint(0xffffffff) }, Closed)),
              dtx: Type.Optional(Type.Boolean()),
              scalabilityMode: Type.Optional(Str(32)),
              scaleResolutionDownBy: Type.Optional(Type.Number({ minimum: 1, maximum: 64 })),
              maxBitrate: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000 })),
              maxFramerate: Type.Optional(Type.Number({ minimum: 0, maximum: 240 })),
              adaptivePtime: Type.Optional(Type.Boolean()),
              priority: Type.Optional(Priority),
              networkPriority: Type.Optional(Priority),
            },
            Closed,
          ),
          { maxItems: 8 },
        ),
      ),
      rtcp: Type.Optional(
        Type.Object({ cname: Type.Optional(Str(256)), reducedSize: Type.Optional(Type.Boolean()), mux: Type.Optional(Type.Boolean()) }, Closed),
      ),
    },
    Closed,
  ),
);

export const RtpCapabilitiesSchema = Type.Unsafe<RtpCapabilities>(
  Type.Object(
    {
      codecs: Type.Optional(
        Type.Array(
          Type.Object(
            {
              kind: Kind,
              mimeType: Str(64),
              preferredPayloadType: Type.Optional(Uint(127)),
              clockRate: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
              channels: Type.Optional(Uint(8)),
              parameters: Type.Optional(CodecParameters),
              rtcpFeedback: Type.Optional(Type.Array(RtcpFeedback, { maxItems: 16 })),
            },
            Closed,
          ),
          { maxItems: 64 },
        ),
      ),
      headerExtensions: Type.Optional(
        Type.Array(
          Type.Object(
            {
              kind: Kind,
              uri: Str(256),
              preferredId: Uint(255),
              preferredEncrypt: Type.Optional(Type.Boolean()),
              direction: Type.Optional(
                Type.Union([Type.Literal('sendrecv'), Type.Literal('sendonly'), Type.Literal('recvonly'), Type.Literal('inactive')]),
              ),
            },
            Closed,
          ),
          { maxItems: 64 },
        ),
      ),
    },
    Closed,
  ),
);

/** Nesting deeper than this in a raw frame is refused before it is parsed into objects (the deepest valid frame, a join with rtcpFeedback, nests 7). */
export const MAX_SIGNAL_JSON_DEPTH = 10;

export const MediaSource = Type.Union([Type.Literal('mic'), Type.Literal('camera'), Type.Literal('screen')]);
export type MediaSource = Static<typeof MediaSource>;

export const MediaKind = Type.Union([Type.Literal('audio'), Type.Literal('video')]);
export type MediaKind = Static<typeof MediaKind>;

export const Role = Type.Union([Type.Literal('admin'), Type.Literal('host'), Type.Literal('guest')]);
export type Role = Static<typeof Role>;

/** A request `{ id, type, data }`; its data object is closed like every object in the protocol. */
function request<T extends string, P extends TProperties>(type: T, data: P) {
  return Type.Object(
    { id: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), type: Type.Literal(type), data: Type.Object(data, Closed) },
    Closed,
  );
}

export const AuthenticateRequest = request(
  'authenticate',
  {
    token: Type.String({ minLength: 1, maxLength: 4096 }),
    /** The room the client means to enter; a token for another room is refused with WRONG_ROOM. */
    roomId: Type.Optional(Id),
  },
);
export const CreateTransportRequest = request('createTransport', { direction: Type.Union([Type.Literal('send'), Type.Literal('recv')]) });
export const ConnectTransportRequest = request('connectTransport', { transportId: Id, dtlsParameters: DtlsParametersSchema });
export const RestartIceRequest = request('restartIce', { transportId: Id });
export const JoinRequest = request('join', { rtpCapabilities: RtpCapabilitiesSchema });
export const ProduceRequest = request(
  'produce',
  { transportId: Id, kind: MediaKind, rtpParameters: RtpParametersSchema, source: MediaSource },
);
export const CloseProducerRequest = request('closeProducer', { producerId: Id });
export const PauseProducerRequest = request('pauseProducer', { producerId: Id });
export const ResumeProducerRequest = request('resumeProducer', { producerId: Id });
export const ResumeConsumerRequest = request('resumeConsumer', { consumerId: Id });
export const SetPreferredLayersRequest = request(
  'setPreferredLayers',
  { consumerId: Id, spatialLayer: Type.Integer({ minimum: 0, maximum: 2 }) },
);
export const LeaveRequest = request('leave', {});
export const StartBroadcastRequest = request(
  'startBroadcast',
  {
    /** May be empty when the broadcast goes only to the event page or only to the recording, and with `preview`. */
    destinationIds: Type.Array(Id, { maxItems: 8, uniqueItems: true }),
    /**
     * Compose without any destination, for the hosts to check the layout, overlays and slate in the
     * preview (state 'preview'); a later startBroadcast without `preview` goes live with the same program.
     */
    preview: Type.Optional(Type.Boolean()),
    layout: Type.Optional(BroadcastLayout),
    resolution: Type.Optional(Resolution),
    /** The vertical program (for destinations that take it): its layout (default 'auto') and size ('720p' 720x1280, default; '1080p' 1080x1920). */
    verticalLayout: Type.Optional(VerticalLayout),
    verticalResolution: Type.Optional(Resolution),
    title: Type.Optional(Type.String({ maxLength: 120 })),
    lowerThird: Type.Optional(Type.String({ maxLength: 120 })),
    slateText: Type.Optional(Type.String({ minLength: 1, maxLength: SLATE_TEXT_MAX })),
    logoCorner: Type.Optional(LogoCorner),
    idleTimeoutMinutes: Type.Optional(IdleTimeoutMinutes),
    /** Record the 16:9 program to a file (listed in the history once the broadcast ends). */
    record: Type.Optional(Type.Boolean()),
    /**
     * Record the vertical (9:16) program to a file of its own; the vertical program is then encoded
     * for the whole broadcast, whether or not a destination takes it.
     */
    recordVertical: Type.Optional(Type.Boolean()),
    /** Also publish to the room's OnAir event page (HLS at /watch/<slug>); a webinar's own setting also turns it on. */
    eventPage: Type.Optional(Type.Boolean()),
  },
);
export const UpdateBroadcastRequest = request(
  'updateBroadcast',
  {
    layout: Type.Optional(BroadcastLayout),
    verticalLayout: Type.Optional(VerticalLayout),
    title: Type.Optional(Type.String({ maxLength: 120 })),
    lowerThird: Type.Optional(Type.String({ maxLength: 120 })),
    /** The slate's text (shown while nobody is on stage); the next frame shows it. */
    slateText: Type.Optional(Type.String({ minLength: 1, maxLength: SLATE_TEXT_MAX })),
    /** The corner of the logo uploaded with PUT /api/rooms/:id/broadcast/logo. */
    logoCorner: Type.Optional(LogoCorner),
    /** The broadcast ends once nobody has been on stage this long (after the show began). */
    idleTimeoutMinutes: Type.Optional(IdleTimeoutMinutes),
    addDestinationIds: Type.Optional(Type.Array(Id, { maxItems: 8, uniqueItems: true })),
    removeDestinationIds: Type.Optional(Type.Array(Id, { maxItems: 8, uniqueItems: true })),
  },
);
export const StopBroadcastRequest = request('stopBroadcast', {});
/**
 * A host asks to watch the program preview: a consumer of it on their receive transport (resume it
 * with resumeConsumer); asking again replaces it. A watcher (a preview token: the dashboard, never
 * joined) sends its device's rtpCapabilities here; a participant's come from join.
 */
export const ConsumePreviewRequest = request('consumePreview', { rtpCapabilities: Type.Optional(RtpCapabilitiesSchema) });
/** What setOnAir moves: the person (camera and microphone), their screen share, or both. */
export const OnAirSource = Type.Union([Type.Literal('camera'), Type.Literal('screen'), Type.Literal('all')]);
export type OnAirSource = Static<typeof OnAirSource>;
/** A host puts a participant on air (in the program) or backstage (in the meeting only); `source` defaults to 'all'. */
export const SetOnAirRequest = request('setOnAir', { peerId: Id, source: Type.Optional(OnAirSource), onAir: Type.Boolean() });

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
  SetOnAirRequest,
  ConsumePreviewRequest,
]);
export type ClientRequest = Static<typeof ClientRequest>;
export type ClientRequestType = ClientRequest['type'];
export const CLIENT_REQUEST_TYPES: readonly ClientRequestType[] = ClientRequest.anyOf.map((s) => s.properties.type.const);
export type RequestData<T extends ClientRequestType> = Extract<ClientRequest, { type: T }>['data'];

// ---------------------------------------------------------------------------------------------
// Server → client. Every response, error and notification the server sends is defined here, once;
// the client checks what it receives against these schemas and the server's tests assert what it
// sends against them.

export const ProducerInfo = Type.Object({ id: Type.String(), source: MediaSource, kind: MediaKind, paused: Type.Boolean() }, Closed);
export type ProducerInfo = Static<typeof ProducerInfo>;

/** Whether the person (camera and microphone) and their screen share are in the program; backstage people still meet with the room. */
export const OnAirState = Type.Object({ camera: Type.Boolean(), screen: Type.Boolean() }, Closed);
export type OnAirState = Static<typeof OnAirState>;

/** How an outside source (no browser: an RTMP encoder, an RTSP camera) stands: starting, sending, or gone for now. */
export const OutsideState = Type.Union([Type.Literal('connecting'), Type.Literal('live'), Type.Literal('reconnecting')]);
export type OutsideState = Static<typeof OutsideState>;

/** What kind of outside source a server-side participant is. */
export const OutsideKind = Type.Union([Type.Literal('rtmp'), Type.Literal('rtsp')]);
export type OutsideKind = Static<typeof OutsideKind>;

/** Set on a participant that is an outside source rather than a person in a browser. */
export const OutsideInfo = Type.Object(
  {
    kind: OutsideKind,
    state: OutsideState,
    /** Why it is reconnecting, in plain words (no secrets). */
    error: Type.Optional(Type.String({ maxLength: 500 })),
  },
  Closed,
);
export type OutsideInfo = Static<typeof OutsideInfo>;

export const PeerInfo = Type.Object(
  {
    id: Type.String(),
    displayName: Type.String(),
    role: Role,
    producers: Type.Array(ProducerInfo),
    onAir: OnAirState,
    outside: Type.Optional(OutsideInfo),
  },
  Closed,
);
export type PeerInfo = Static<typeof PeerInfo>;

/** A TURN server (an RTCIceServer) with time-limited credentials for one participant. */
export const IceServer = Type.Object(
  { urls: Type.Array(Type.String({ pattern: '^turns?:' }), { minItems: 1 }), username: Type.String(), credential: Type.String() },
  Closed,
);
export type IceServer = Static<typeof IceServer>;

/** What mediasoup-client's Device.createSendTransport / createRecvTransport need. */
export const TransportOptions = Type.Object(
  {
    id: Type.String(),
    iceParameters: Type.Unsafe<IceParameters>(
      Type.Object({ usernameFragment: Type.String(), password: Type.String(), iceLite: Type.Optional(Type.Boolean()) }, Closed),
    ),
    iceCandidates: Type.Unsafe<IceCandidate[]>(
      Type.Array(
        Type.Object(
          {
            foundation: Type.String(),
            priority: Type.Number(),
            ip: Type.Optional(Type.String()),
            address: Type.String(),
            protocol: Type.Union([Type.Literal('udp'), Type.Literal('tcp')]),
            port: Type.Integer(),
            type: Type.Union([Type.Literal('host'), Type.Literal('srflx'), Type.Literal('prflx'), Type.Literal('relay')]),
            tcpType: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('passive'), Type.Literal('so')])),
          },
          Closed,
        ),
      ),
    ),
    dtlsParameters: DtlsParametersSchema,
  },
  Closed,
);
export type TransportOptions = Static<typeof TransportOptions>;

const Empty = Type.Object({}, Closed);

/** What each request answers with: `{ kind: 'response', id, type, data }`. */
export const Responses = {
  authenticate: Type.Object(
    {
      peerId: Type.String(),
      roomId: Type.String(),
      roomName: Type.String(),
      role: Role,
      displayName: Type.String(),
      routerRtpCapabilities: RtpCapabilitiesSchema,
      /** TURN servers for the send and receive transports; empty when the server has none configured. */
      iceServers: Type.Array(IceServer),
    },
    Closed,
  ),
  createTransport: TransportOptions,
  connectTransport: Empty,
  restartIce: Type.Object({ iceParameters: TransportOptions.properties.iceParameters }, Closed),
  join: Type.Object(
    {
      peers: Type.Array(PeerInfo),
      activeSpeakerId: Type.Union([Type.String(), Type.Null()]),
      broadcast: Type.Union([BroadcastStatus, Type.Null()]),
      /** Whether this participant starts on air or backstage. */
      onAir: OnAirState,
    },
    Closed,
  ),
  produce: Type.Object({ producerId: Type.String() }, Closed),
  closeProducer: Empty,
  pauseProducer: Empty,
  resumeProducer: Empty,
  resumeConsumer: Empty,
  setPreferredLayers: Empty,
  leave: Empty,
  startBroadcast: Type.Object({ broadcast: BroadcastStatus }, Closed),
  updateBroadcast: Type.Object({ broadcast: BroadcastStatus }, Closed),
  stopBroadcast: Empty,
  setOnAir: Empty,
  consumePreview: Type.Object(
    { consumerId: Type.String(), producerId: Type.String(), kind: MediaKind, rtpParameters: RtpParametersSchema },
    Closed,
  ),
} satisfies Record<ClientRequestType, TSchema>;
export type ResponseData = { [T in ClientRequestType]: Static<(typeof Responses)[T]> };

const ConsumerRef = Type.Object({ consumerId: Type.String() }, Closed);

/** What the server pushes: `{ kind: 'notification', event, data }`. */
export const Notifications = {
  peerJoined: Type.Object({ peer: PeerInfo }, Closed),
  peerUpdated: Type.Object({ peer: PeerInfo }, Closed),
  peerLeft: Type.Object({ peerId: Type.String() }, Closed),
  newConsumer: Type.Object(
    {
      consumerId: Type.String(),
      producerId: Type.String(),
      peerId: Type.String(),
      kind: MediaKind,
      source: MediaSource,
      rtpParameters: RtpParametersSchema,
      producerPaused: Type.Boolean(),
    },
    Closed,
  ),
  consumerClosed: ConsumerRef,
  consumerPaused: ConsumerRef,
  consumerResumed: ConsumerRef,
  activeSpeaker: Type.Object({ peerId: Type.Union([Type.String(), Type.Null()]) }, Closed),
  broadcast: Type.Object({ broadcast: Type.Union([BroadcastStatus, Type.Null()]) }, Closed),
  /** This participant was put on air or backstage by a host (the others get peerUpdated). */
  onAir: Type.Object({ onAir: OnAirState }, Closed),
  /** The server is closing this session; `code` says why (REPLACED, ROOM_CLOSED, SESSION_REVOKED, ...). */
  closing: Type.Unsafe<ErrorBody>(Type.Object({ code: Type.String(), message: Type.String() }, Closed)),
};
export type NotificationData = { [E in keyof typeof Notifications]: Static<(typeof Notifications)[E]> };
export type NotificationEvent = keyof NotificationData;
export const NOTIFICATION_EVENTS = Object.keys(Notifications) as NotificationEvent[];

/** An answer to a request that failed (`id`), or an error about no request (`id: null`). */
export const ErrorMessage = Type.Object(
  { kind: Type.Literal('error'), id: Type.Union([Type.Integer(), Type.Null()]), error: Type.Unsafe<ErrorBody>(Type.Object({ code: Type.String(), message: Type.String() }, Closed)) },
  Closed,
);

/** Every message the server sends, as one schema. */
export const ServerMessageSchema = Type.Union([
  ...CLIENT_REQUEST_TYPES.map((type) =>
    Type.Object({ kind: Type.Literal('response'), id: Type.Integer(), type: Type.Literal(type), data: Responses[type] }, Closed),
  ),
  ErrorMessage,
  ...NOTIFICATION_EVENTS.map((event) => Type.Object({ kind: Type.Literal('notification'), event: Type.Literal(event), data: Notifications[event] }, Closed)),
]);

export type ServerMessage =
  | { [T in ClientRequestType]: { kind: 'response'; id: number; type: T; data: ResponseData[T] } }[ClientRequestType]
  | { kind: 'error'; id: number | null; error: ErrorBody }
  | { [E in NotificationEvent]: { kind: 'notification'; event: E; data: NotificationData[E] } }[NotificationEvent];
