// The id of the document request (X-Request-Id), for error pages: the server puts it into
// this context and into <meta name="request-id">, the browser reads it back from the meta
// tag when it hydrates, so both render the same text. A person quotes it; the log line
// with the same id has the details.
import { createContext, useContext } from 'react';

export const REQUEST_ID_META = 'request-id';

export const RequestIdContext = createContext<string | undefined>(undefined);

export function useDocumentRequestId(): string | undefined {
  return useContext(RequestIdContext);
}

/** In the browser: the id the server rendered into the document. */
export function readDocumentRequestId(doc: Document): string | undefined {
  return doc.querySelector<HTMLMetaElement>(`meta[name="${REQUEST_ID_META}"]`)?.content || undefined;
}
