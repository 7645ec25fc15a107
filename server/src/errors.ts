import { ErrorCodes, type ErrorBody, type ErrorCode } from '@onair/shared';

/**
 * An error the user caused or can act on; its code and message go back to the client as is.
 * Anything else that escapes becomes INTERNAL with a generic message.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = ErrorCodes[code];
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof AppError) return error.toBody();
  return { code: 'INTERNAL', message: 'Something went wrong on the server.' };
}

/** One of Ajv's errors as Fastify attaches them to a validation failure. */
interface SchemaError {
  instancePath?: string;
  keyword?: string;
  params?: Record<string, unknown>;
  message?: string;
}

/**
 * Words for the first schema error of a request, naming the field: "name must not be empty",
 * "title is too long (at most 120 characters)", "startsAt is not a valid date and time".
 */
export function validationMessage(error: { validation?: unknown; validationContext?: string; message?: string }): string {
  const first = Array.isArray(error.validation) ? (error.validation[0] as SchemaError | undefined) : undefined;
  if (!first) return error.message ?? 'The request is not valid.';
  const path = (first.instancePath ?? '').split('/').filter(Boolean).join('.');
  const field = path || (first.keyword === 'required' ? String(first.params?.missingProperty ?? '') : '') || (error.validationContext ?? 'body');
  const p = first.params ?? {};
  switch (first.keyword) {
    case 'required':
      return `${String(p.missingProperty)} is required.`;
    case 'additionalProperties':
      return path ? `${field}: unknown field "${String(p.additionalProperty)}".` : `Unknown field "${String(p.additionalProperty)}".`;
    case 'minLength':
      return Number(p.limit) <= 1 ? `${field} must not be empty.` : `${field} is too short (at least ${String(p.limit)} characters).`;
    case 'maxLength':
      return `${field} is too long (at most ${String(p.limit)} characters).`;
    case 'format':
      return p.format === 'date-time' ? `${field} is not a valid date and time (e.g. 2026-05-01T10:00:00Z).` : `${field} is not a valid ${String(p.format)}.`;
    case 'type':
      return `${field} must be ${String(p.type)}.`;
    case 'maxItems':
      return `${field} has too many items (at most ${String(p.limit)}).`;
    default:
      return `${field} ${first.message ?? 'is not valid'}.`;
  }
}
