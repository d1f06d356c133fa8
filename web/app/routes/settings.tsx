// Settings: the kubeconfig (validated on save; its namespace shown), the Anthropic key and
// base URL (a change reaches running sandboxes), and API tokens (shown once at creation).
import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { useEffect, useRef } from 'react';
import { ago } from '../lib/format';
import { formError, requireUserId } from '../lib/session.server';

export const meta: MetaFunction = () => [{ title: 'Settings · FullstackAgent' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const userId = requireUserId(context, request);
  const [settings, tokens] = await Promise.all([context.api.getSettings(userId), context.api.listTokens(userId)]);
  return json({ settings, tokens });
}

export async function action({ request, context }: ActionFunctionArgs) {
  const userId = requireUserId(context, request);
  const form = await request.formData();
  const intent = String(form.get('intent'));
  try {
    switch (intent) {
      case 'kubeconfig': {
        const s = await context.api.saveKubeconfig(userId, { kubeconfig: String(form.get('kubeconfig') ?? '') });
        return json({ intent, ok: `Kubeconfig saved. Projects run in namespace “${s.namespace}”.` });
      }
      case 'anthropic': {
        const apiKey = String(form.get('apiKey') ?? '').trim();
        const baseUrl = String(form.get('baseUrl') ?? '').trim();
        const r = await context.api.saveAnthropic(userId, { ...(apiKey ? { apiKey } : {}), baseUrl });
        return json({ intent, ok: r.signalled ? `Saved. ${r.signalled} project(s) restart with the new settings.` : 'Saved.' });
      }
      case 'token-create': {
        const t = await context.api.createToken(userId, { name: String(form.get('name') ?? '') });
        return json({ intent, ok: 'Token created. Copy it now: it is not shown again.', token: t.token });
      }
      case 'token-revoke':
        await context.api.revokeToken(userId, String(form.get('tokenId')));
        return json({ intent, ok: 'Token revoked.' });
      default:
        return json({ intent, error: `unknown action "${intent}"` }, { status: 400 });
    }
  } catch (err) {
    const { error, status } = formError(err);
    return json({ intent, error }, { status });
  }
}

function Result({ intent }: { intent: string }) {
  const data = useActionData<typeof action>();
  if (!data || data.intent !== intent) return null;
  return 'error' in data ? (
    <p className="alert alert-error" role="alert">
      {data.error}
    </p>
  ) : (
    <p className="alert alert-ok" role="status">
      {data.ok}
    </p>
  );
}

export default function Settings() {
  const { settings, tokens } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const nav = useNavigation();
  const submitting = (intent: string) => nav.state === 'submitting' && nav.formData?.get('intent') === intent;
  const newToken = data && 'token' in data ? data.token : null;
  const tokenForm = useRef<HTMLFormElement>(null);
  const kubeForm = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (newToken) tokenForm.current?.reset();
  }, [newToken]);
  useEffect(() => {
    if (data && data.intent === 'kubeconfig' && 'ok' in data) kubeForm.current?.reset();
  }, [data]);

  return (
    <>
      <div className="page-head">
        <div>
          <h1>Settings</h1>
          <p className="muted">Where your projects run, which AI key they use, and tokens for scripts.</p>
        </div>
      </div>

      <section className="card" aria-labelledby="kube-title">
        <div className="section-head">
          <h2 id="kube-title">Kubernetes</h2>
          {settings.kubeconfig ? (
            <p className="small">
              Namespace <code>{settings.kubeconfig.namespace}</code> on <code>{settings.kubeconfig.server}</code> · saved {ago(settings.kubeconfig.updatedAt)}
            </p>
          ) : (
            <p className="muted small">No kubeconfig yet: projects use the platform’s built-in cluster.</p>
          )}
        </div>
        <Result intent="kubeconfig" />
        <Form method="post" className="stack" ref={kubeForm}>
          <input type="hidden" name="intent" value="kubeconfig" />
          <label className="field">
            <span>Kubeconfig (YAML)</span>
            <textarea name="kubeconfig" rows={6} required spellCheck={false} className="mono" placeholder="apiVersion: v1&#10;kind: Config&#10;clusters: …" />
            <small className="hint">We check that it parses, that its current context is complete, and that its API server answers within 5 seconds. It is stored encrypted.</small>
          </label>
          <div className="row-end">
            <button className="btn btn-primary" type="submit" disabled={submitting('kubeconfig')}>
              {submitting('kubeconfig') ? 'Checking…' : 'Validate and save'}
            </button>
          </div>
        </Form>
      </section>

      <section className="card" aria-labelledby="ai-title">
        <div className="section-head">
          <h2 id="ai-title">Anthropic</h2>
          <p className="muted small">
            {settings.anthropic.keyConfigured ? <>Key configured ({settings.anthropic.keyHint}).</> : 'No key configured.'} Running sandboxes restart with a new key or base URL.
          </p>
        </div>
        <Result intent="anthropic" />
        <Form method="post" className="grid-form">
          <input type="hidden" name="intent" value="anthropic" />
          <label className="field">
            <span>API key</span>
            <input name="apiKey" type="password" autoComplete="off" placeholder={settings.anthropic.keyConfigured ? 'Leave empty to keep the current key' : 'sk-ant-…'} />
          </label>
          <label className="field">
            <span>Base URL</span>
            <input name="baseUrl" type="url" defaultValue={settings.anthropic.baseUrl ?? ''} placeholder="https://api.anthropic.com" />
          </label>
          <div className="row-end span-2">
            <button className="btn btn-primary" type="submit" disabled={submitting('anthropic')}>
              Save
            </button>
          </div>
        </Form>
      </section>

      <section className="card" aria-labelledby="tokens-title">
        <div className="section-head">
          <h2 id="tokens-title">API tokens</h2>
          <p className="muted small">
            For scripts: send <code>Authorization: Bearer &lt;token&gt;</code>. Stored hashed; shown only once.
          </p>
        </div>
        <Result intent="token-create" />
        {newToken ? (
          <div className="token-once">
            <code id="new-token">{newToken}</code>
            <button type="button" className="btn btn-sm" onClick={() => navigator.clipboard?.writeText(newToken)}>
              Copy
            </button>
          </div>
        ) : null}
        <Result intent="token-revoke" />
        <Form method="post" className="inline-form" ref={tokenForm}>
          <input type="hidden" name="intent" value="token-create" />
          <label className="field grow">
            <span className="sr-only">Token name</span>
            <input name="name" required maxLength={64} placeholder="Token name, e.g. deploy script" />
          </label>
          <button className="btn btn-primary" type="submit" disabled={submitting('token-create')}>
            Create token
          </button>
        </Form>
        {tokens.length ? (
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Token</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>
                    <code>{t.prefix}…</code>
                  </td>
                  <td className="muted">{ago(t.createdAt)}</td>
                  <td className="muted">{t.lastUsedAt ? ago(t.lastUsedAt) : 'never'}</td>
                  <td className="row-actions">
                    <Form method="post">
                      <input type="hidden" name="intent" value="token-revoke" />
                      <input type="hidden" name="tokenId" value={t.id} />
                      <button className="btn btn-sm btn-danger-ghost" type="submit">
                        Revoke<span className="sr-only"> {t.name}</span>
                      </button>
                    </Form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted small">No tokens yet.</p>
        )}
      </section>
    </>
  );
}
