/**
 * Words for a failed admin action. Most codes use the shared plain words (services/errors.ts);
 * for the codes below the server's own message is the more useful one, because it names the thing
 * at fault ("The start time is in the past.", "… is used by "Launch day"", the overlapping webinar).
 */
import { ApiError } from '../../services/api';
import { describeError, errorWords } from '../../services/errors';

const SERVER_MESSAGE_EXPLAINS = new Set([
  'SCHEDULE_INVALID',
  'STREAM_KEY_CONFLICT',
  'DESTINATION_IN_USE',
  'UNKNOWN_USER',
  'UNKNOWN_DESTINATION',
  'INVALID_RTMP_URL',
  'INVALID_WEBHOOK_URL',
  'CANNOT_DISABLE_SELF',
]);

export function actionError(err: unknown): string {
  if (err instanceof ApiError) {
    if (SERVER_MESSAGE_EXPLAINS.has(err.code) && err.serverMessage) return err.serverMessage;
    // Schema failures carry Ajv's wording ("body/name must NOT have fewer than 1 characters"):
    // keep the plain sentence and add the field it is about.
    if (err.code === 'VALIDATION_FAILED') {
      const field = /(?:body|querystring|params)\/(\w+)/.exec(err.serverMessage)?.[1];
      return field ? `${errorWords('VALIDATION_FAILED')} (${field})` : errorWords('VALIDATION_FAILED');
    }
  }
  return describeError(err);
}
