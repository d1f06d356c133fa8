import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, Links, Meta, NavLink, Outlet, Scripts, ScrollRestoration, isRouteErrorResponse, useLoaderData, useRouteError } from '@remix-run/react';
import './load-context';
import stylesHref from './styles.css?url';

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: stylesHref },
  { rel: 'icon', href: 'data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 32 32%22%3E%3Crect width=%2232%22 height=%2232%22 rx=%228%22 fill=%22%234f46e5%22/%3E%3Cpath d=%22M9 22V10h10M9 16h8%22 stroke=%22white%22 stroke-width=%223%22 fill=%22none%22/%3E%3C/svg%3E' },
];

export const meta: MetaFunction = () => [{ title: 'FullstackAgent' }, { name: 'viewport', content: 'width=device-width, initial-scale=1' }];

export async function loader({ context }: LoaderFunctionArgs) {
  const user = context.user ? await context.api.findUser(context.user.userId) : null;
  return json({ user });
}

export function Layout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
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

export function ErrorBoundary() {
  const error = useRouteError();
  const title = isRouteErrorResponse(error) ? `${error.status} ${error.statusText}` : 'Something went wrong';
  const detail = isRouteErrorResponse(error) ? (typeof error.data === 'string' ? error.data : '') : error instanceof Error ? error.message : '';
  return (
    <>
      <Header user={null} />
      <main id="main" className="page">
        <div className="card empty">
          <h1>{title}</h1>
          {detail ? <p className="muted">{detail}</p> : null}
          <Link className="btn" to="/projects">
            Back to projects
          </Link>
        </div>
      </main>
    </>
  );
}
