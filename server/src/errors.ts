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
