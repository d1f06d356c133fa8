import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, Links, Meta, NavLink, Outlet, Scripts, ScrollRestoration, isRouteErrorResponse, useLoaderData, useLocation, useRouteError } from '@remix-run/react';
import './load-context';
import { REQUEST_ID_META, useDocumentRequestId } from './lib/request-id';
import stylesHref from './styles.css?url';

// web/public/favicon.svg (and favicon.ico for clients that ask for it without reading links).
export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: stylesHref },
  { rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' },
  { rel: 'alternate icon', href: '/favicon.ico', sizes: '32x32' },
];

export const meta: MetaFunction = () => [{ title: 'FullstackAgent' }, { name: 'viewport', content: 'width=device-width, initial-scale=1' }];

export async function loader({ context }: LoaderFunctionArgs) {
  const user = context.user ? await context.api.findUser(context.user.userId) : null;
  return json({ user });
}

export function Layout({ children }: { children: React.ReactNode }) {
  const requestId = useDocumentRequestId();
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        {requestId ? <meta name={REQUEST_ID_META} content={requestId} /> : null}
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

function Header({ user }: { user: { name: string } | null }) {
  return (
    <header className="topbar">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <Link to={user ? '/projects' : '/signin'} className="brand">
        <span className="brand-mark" aria-hidden="true">
          F
        </span>
        FullstackAgent
      </Link>
      {user ? (
        <nav className="topnav" aria-label="Main">
          <NavLink to="/projects">Projects</NavLink>
          <NavLink to="/settings">Settings</NavLink>
          <span className="who" title="Signed in">
            {user.name}
          </span>
          <Form method="post" action="/signout">
            <button type="submit" className="btn btn-ghost btn-sm">
              Sign out
            </button>
          </Form>
        </nav>
      ) : null}
    </header>
  );
}

export default function App() {
  const { user } = useLoaderData<typeof loader>();
  return (
    <>
      <Header user={user} />
      <main id="main" className="page">
        <Outlet />
      </main>
    </>
  );
}

interface FailureData {
  message?: string;
  requestId?: string;
}

/** What an error may show: a title, one sentence, and the request id of the log line. Never error.message. */
function describe(error: unknown, documentRequestId: string | undefined): { title: string; message: string; requestId?: string; status?: number } {
  if (isRouteErrorResponse(error)) {
    const data = (typeof error.data === 'object' && error.data !== null ? error.data : {}) as FailureData;
    // Route answers (404, 409, …) carry a message written for people (services' ApiError).
    const text = typeof error.data === 'string' ? error.data : typeof data.message === 'string' ? data.message : '';
    const requestId = data.requestId ?? (error.status >= 500 ? documentRequestId : undefined);
    if (error.status === 404) return { title: 'Not found', message: text || 'There is nothing at this address.', status: 404 };
    if (error.status === 503) return { title: 'Temporarily unavailable', message: text || 'A service the platform needs is not reachable. Try again in a moment.', requestId, status: 503 };
    if (error.status >= 500) return { title: 'Something went wrong', message: text || 'Something went wrong on our side. Try again.', requestId, status: error.status };
    return { title: error.statusText || `Error ${error.status}`, message: text, status: error.status };
  }
  // An Error: its message may be a Prisma message, SQL or a stack (in development). The log has it.
  return { title: 'Something went wrong', message: 'This page could not be shown. Try again; if it keeps happening, report the request id below.', requestId: documentRequestId };
}

export function ErrorBoundary() {
  const error = useRouteError();
  // The document's request id belongs to errors of the first render only; after a client-side
  // navigation the failing request was another one (its id comes in the error's data, if any).
  const documentRequestId = useDocumentRequestId();
  const firstRender = useLocation().key === 'default';
  const { title, message, requestId, status } = describe(error, firstRender ? documentRequestId : undefined);
  return (
    <>
      <Header user={null} />
      <main id="main" className="page">
        <div className="card empty" role="alert" data-error-status={status ?? 'error'}>
          <h1>{title}</h1>
          {message ? <p className="muted">{message}</p> : null}
          {requestId ? (
            <p className="small">
              Request id: <code data-request-id>{requestId}</code>
            </p>
          ) : null}
          <div className="row-end" style={{ justifyContent: 'center' }}>
            <a className="btn btn-ghost" href="">
              Try again
            </a>
            <Link className="btn" to="/projects">
              Back to projects
            </Link>
          </div>
        </div>
      </main>
    </>
  );
}
