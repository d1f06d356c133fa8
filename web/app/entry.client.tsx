// Browser entry: Remix's default, plus the document's request id (read from the meta tag
// the server rendered) in context, so error boundaries hydrate with the same text.
import { RemixBrowser } from '@remix-run/react';
import { startTransition, StrictMode } from 'react';
import { hydrateRoot } from 'react-dom/client';
import { readDocumentRequestId, RequestIdContext } from './lib/request-id';

const requestId = readDocumentRequestId(document);

startTransition(() => {
  hydrateRoot(
    document,
    <StrictMode>
      <RequestIdContext.Provider value={requestId}>
        <RemixBrowser />
      </RequestIdContext.Provider>
    </StrictMode>,
  );
});
