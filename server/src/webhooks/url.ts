import { AppError } from '../errors.js';

/**
 * Checks a webhook URL an admin typed and says in plain words what is wrong with it: http(s) only,
 * a host, no user name or password (every request is signed instead), no #fragment (never sent).
 * Returns the URL as typed (trimmed) when it is fine.
 */
export function validateWebhookUrl(input: string): string {
  const url = input.trim();
  if (url === '') throw new AppError('INVALID_WEBHOOK_URL', 'Enter the URL OnAir should send events to.');
  if (!/^https?:\/\//i.test(url)) {
    throw new AppError('INVALID_WEBHOOK_URL', 'A webhook URL must start with http:// or https://, for example https://example.com/onair-events.');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AppError('INVALID_WEBHOOK_URL', `"${url.slice(0, 200)}" is not a valid URL. Check it for typing mistakes and spaces.`);
  }
  if (parsed.hostname === '') throw new AppError('INVALID_WEBHOOK_URL', 'The webhook URL has no host name after http:// or https://.');
  if (parsed.username !== '' || parsed.password !== '') {
    throw new AppError('INVALID_WEBHOOK_URL', 'Leave the user name and password out of the webhook URL: OnAir signs every request instead (see the signing secret).');
  }
  if (parsed.hash !== '' || url.endsWith('#')) throw new AppError('INVALID_WEBHOOK_URL', 'Remove the #… part: it is never sent to the server.');
  return url;
}
