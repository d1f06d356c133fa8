import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useNavigation } from '@remix-run/react';
import { formError, requireUserId } from '../lib/session.server';

export const meta: MetaFunction = () => [{ title: 'New project · FullstackAgent' }];

export function loader({ request, context }: LoaderFunctionArgs) {
  requireUserId(context, request);
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const userId = requireUserId(context, request);
  const form = await request.formData();
  const values = { name: String(form.get('name') ?? ''), description: String(form.get('description') ?? '') };
  try {
    const project = await context.api.createProject(userId, values, context.user?.actor);
    return redirect(`/projects/${project.id}`);
  } catch (err) {
    const { error, status } = formError(err);
    return json({ error, values }, { status });
  }
}

export default function NewProject() {
  const data = useActionData<typeof action>();
  const busy = useNavigation().state === 'submitting';
  return (
    <div className="narrow">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/projects">Projects</Link> <span aria-hidden="true">/</span> New
      </nav>
      <h1>New project</h1>
      <p className="muted">We create a sandbox (Node.js, an AI coding CLI and a web terminal) and a PostgreSQL database. It takes a minute or two.</p>
      <Form method="post" className="card stack" aria-describedby={data?.error ? 'create-error' : undefined}>
        {data?.error ? (
          <p className="alert alert-error" role="alert" id="create-error">
            {data.error}
          </p>
        ) : null}
        <label className="field">
          <span>Name</span>
          <input name="name" required defaultValue={data?.values.name} placeholder="e.g. Shop front (v2) 🚀" autoFocus />
          <small className="hint">Up to 64 characters, as you like them: any language, punctuation and emoji.</small>
        </label>
        <label className="field">
          <span>
            Description <span className="muted">(optional)</span>
          </span>
          <textarea name="description" maxLength={500} rows={3} defaultValue={data?.values.description} />
        </label>
        <div className="row-end">
          <Link to="/projects" className="btn btn-ghost">
            Cancel
          </Link>
          <button className="btn btn-primary" type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create project'}
          </button>
        </div>
      </Form>
    </div>
  );
}
