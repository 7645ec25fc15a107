/**
 * The facts OnAir tells the outside world about (webhooks deliver them as JSON): one envelope per
 * event with an id (the same on every retry, for idempotency), the type, when it happened, and the
 * type's data. Defined once here so the server, the dashboard and receivers' tests share them.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DestinationOutcome, WebinarStatus } from './api.js';
import { BroadcastLayout, DestinationState, Platform, ProgramKind, Resolution } from './broadcast.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
/** ISO 8601 date-time (plain string: receivers need no format registry to check it). */
const Time = Type.String({ maxLength: 64 });

export const BroadcastStartedData = Type.Object({
  broadcastId: Type.String(),
  roomId: Type.String(),
  roomName: Type.String(),
  webinarId: Nullable(Type.String()),
  trigger: Type.Union([Type.Literal('manual'), Type.Literal('scheduled')]),
  startedAt: Time,
  resolution: Resolution,
  layout: BroadcastLayout,
  recording: Type.Boolean(),
  /** The vertical (9:16) program is recorded too. */
  recordingVertical: Type.Boolean(),
  destinations: Type.Array(Type.Object({ destinationId: Type.String(), name: Type.String(), platform: Platform, maskedUrl: Type.String() })),
});

export const BroadcastStoppedData = Type.Object({
  broadcastId: Type.String(),
  roomId: Type.String(),
  roomName: Type.String(),
  webinarId: Nullable(Type.String()),
  startedAt: Time,
  stoppedAt: Time,
  durationSeconds: Type.Number(),
  /** 'failed' when the broadcast itself failed (not one destination). */
  state: Type.Union([Type.Literal('stopped'), Type.Literal('failed')]),
  /** Where the recording was written on the server, null without one. */
  recordingFile: Nullable(Type.String()),
  destinations: Type.Array(DestinationOutcome),
});

export const DestinationStateChangedData = Type.Object({
  broadcastId: Type.String(),
  roomId: Type.String(),
  destinationId: Type.String(),
  name: Type.String(),
  platform: Platform,
  /** Server URL with the stream key masked. */
  maskedUrl: Type.String(),
  state: DestinationState,
  /** null the first time the broadcast reports this destination. */
  previousState: Nullable(DestinationState),
  /** The last failure in plain words (e.g. "The platform refused the stream key."), null when none. */
  error: Nullable(Type.String()),
  retries: Type.Integer(),
});

export const WebinarEventData = Type.Object({
  webinarId: Type.String(),
  title: Type.String(),
  roomId: Type.String(),
  startsAt: Time,
  endsAt: Time,
  status: WebinarStatus,
});

export const RecordingReadyData = Type.Object({
  broadcastId: Type.String(),
  roomId: Type.String(),
  /** Where the finished file is on the server. */
  file: Type.String(),
  bytes: Type.Integer({ minimum: 0 }),
  /** The program recorded. */
  program: ProgramKind,
});

export const WebhookTestData = Type.Object({ webhookId: Type.String(), message: Type.String() });

const envelope = <K extends string, D extends TSchema>(type: K, data: D) =>
  Type.Object(
    {
      /** Unique per event and the same on every delivery attempt: receivers use it to ignore repeats. */
      id: Type.String(),
      type: Type.Literal(type),
      createdAt: Time,
      data,
    },
    { additionalProperties: false },
  );

export const OnAirEvent = Type.Union([
  envelope('broadcast.started', BroadcastStartedData),
  envelope('broadcast.stopped', BroadcastStoppedData),
  envelope('destination.state_changed', DestinationStateChangedData),
  envelope('webinar.live', WebinarEventData),
  envelope('webinar.missed', WebinarEventData),
  envelope('webinar.ended', WebinarEventData),
  envelope('recording.ready', RecordingReadyData),
  envelope('webhook.test', WebhookTestData),
]);
export type OnAirEvent = Static<typeof OnAirEvent>;
export type OnAirEventType = OnAirEvent['type'];
export type OnAirEventData<K extends OnAirEventType> = Extract<OnAirEvent, { type: K }>['data'];

export const ON_AIR_EVENT_TYPES: readonly OnAirEventType[] = [
  'broadcast.started',
  'broadcast.stopped',
  'destination.state_changed',
  'webinar.live',
  'webinar.missed',
  'webinar.ended',
  'recording.ready',
  'webhook.test',
];
