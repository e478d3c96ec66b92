/**
 * What replaces Bun's own error page: anything that throws out of the app gets a JSON 500 and
 * one log line. Bun's page (in development mode, Bun's default unless NODE_ENV=production) was
 * 50 KB of source lines, absolute paths and the working directory, sent to the client; the
 * server also runs with `development: false`, which keeps that page off. (Requests with a Host
 * Bun cannot make a URL of are refused by the app itself: src/app/unparsable-url.ts.)
 */
import { errorResponse } from '../../app/context.ts';

/** `Bun.serve`'s `error` handler: one line, no stack trace, a JSON 500. */
export function internalError(log: (line: string) => void): (error: Error) => Response {
  return (error) => {
    log(`error: ${error instanceof Error ? error.message : String(error)}`);
    return errorResponse(500, 'internal error', { connection: 'close' });
  };
}
