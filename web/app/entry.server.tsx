// Server entry: Remix's default streaming render (bots get the whole document at once),
// plus two things:
// - the request id (X-Request-Id, from the load context) in React context, so an error
//   boundary shows the id of the log line that holds the details;
// - handleError: unexpected loader/action/render errors are logged once, as JSON with that
//   request id and redacted like every log line, instead of printed raw to the console.
import { PassThrough } from 'node:stream';
import type { ActionFunctionArgs, AppLoadContext, EntryContext, LoaderFunctionArgs } from '@remix-run/node';
import { createReadableStreamFromReadable } from '@remix-run/node';
import { RemixServer } from '@remix-run/react';
import { isbot } from 'isbot';
import { renderToPipeableStream } from 'react-dom/server';
import { createLogger, withRequestId } from '../../server/logger';
import { RequestIdContext } from './lib/request-id';
import './load-context';

const ABORT_DELAY = 5_000;
const logger = createLogger('web', process.env.LOG_LEVEL ?? 'info');

export function handleError(error: unknown, { request, context }: LoaderFunctionArgs | ActionFunctionArgs): void {
  // A request the browser gave up on (navigated away) is not a failure.
  if (request.signal.aborted) return;
  const requestId = (context as Partial<AppLoadContext>).requestId;
  const log = requestId ? withRequestId(logger, requestId) : logger;
  const url = new URL(request.url);
  log.error({ err: error, method: request.method, path: url.pathname }, 'page error');
}

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  const allReady = isbot(request.headers.get('user-agent') ?? '') || remixContext.isSpaMode;
  const requestId = loadContext.requestId;
  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false;
    const ready = () => {
      shellRendered = true;
      const body = new PassThrough();
      const stream = createReadableStreamFromReadable(body);
      responseHeaders.set('Content-Type', 'text/html');
      resolve(new Response(stream, { headers: responseHeaders, status: responseStatusCode }));
      pipe(body);
    };
    const { pipe, abort } = renderToPipeableStream(
      <RequestIdContext.Provider value={requestId}>
        <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY} />
      </RequestIdContext.Provider>,
      {
        ...(allReady ? { onAllReady: ready } : { onShellReady: ready }),
        onShellError(error: unknown) {
          reject(error);
        },
        onError(error: unknown) {
          responseStatusCode = 500;
          // Errors while rendering the shell reject and are handled by Remix (handleError);
          // later streaming errors are logged here.
          if (shellRendered) (requestId ? withRequestId(logger, requestId) : logger).error({ err: error }, 'streaming render error');
        },
      },
    );
    setTimeout(abort, ABORT_DELAY);
  });
}
