// The environment variables card, by category (secret values masked; a change rolls the
// sandbox): add, edit in place, remove.
import { Form, useActionData, useNavigation } from '@remix-run/react';
import { useEffect, useRef, useState } from 'react';
import type { EnvironmentDto } from '../../../server/web-api';
import type { ProjectActionData } from './live';

const CATEGORIES = [
  { id: 'general', label: 'General', hint: 'Plain settings such as API URLs and feature flags.' },
  { id: 'auth', label: 'Auth', hint: 'OAuth client IDs, callback URLs, session settings.' },
  { id: 'payment', label: 'Payment', hint: 'Payment provider settings.' },
  { id: 'secret', label: 'Secrets', hint: 'Stored encrypted; never shown again after saving.' },
] as const;

function EnvRow({ v }: { v: EnvironmentDto }) {
  const [editing, setEditing] = useState(false);
  return (
    <tr data-env-key={v.key}>
      <th scope="row">
        <code>{v.key}</code>
      </th>
      <td className="env-value">
        {editing ? (
          <Form method="post" className="inline-form" onSubmit={() => setEditing(false)}>
            <input type="hidden" name="intent" value="env-update" />
            <input type="hidden" name="envId" value={v.id} />
            <input type="hidden" name="isSecret" value={String(v.isSecret)} />
            <input
              name="value"
              aria-label={`New value for ${v.key}`}
              type={v.isSecret ? 'password' : 'text'}
              defaultValue={v.isSecret ? '' : v.value}
              placeholder={v.isSecret ? 'New secret value' : ''}
              autoFocus
            />
            <button className="btn btn-sm btn-primary" type="submit">
              Save
            </button>
            <button className="btn btn-sm btn-ghost" type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </Form>
        ) : v.isSecret ? (
          <span className="masked" title="Secret values are never shown">
            {v.value}
          </span>
        ) : (
          <code className="value">{v.value || <span className="muted">(empty)</span>}</code>
        )}
      </td>
      <td className="row-actions">
        {!editing ? (
          <button className="btn btn-sm btn-ghost" type="button" onClick={() => setEditing(true)}>
            Edit<span className="sr-only"> {v.key}</span>
          </button>
        ) : null}
        <Form method="post">
          <input type="hidden" name="intent" value="env-delete" />
          <input type="hidden" name="envId" value={v.id} />
          <button className="btn btn-sm btn-ghost" type="submit">
            Remove<span className="sr-only"> {v.key}</span>
          </button>
        </Form>
      </td>
    </tr>
  );
}

export function Environment({ vars }: { vars: EnvironmentDto[] }) {
  const data = useActionData<ProjectActionData>();
  const nav = useNavigation();
  const formRef = useRef<HTMLFormElement>(null);
  const envResult = data && String(data.intent).startsWith('env-') ? data : null;
  useEffect(() => {
    if (envResult && 'ok' in envResult && envResult.intent === 'env-add' && nav.state === 'idle') formRef.current?.reset();
  }, [envResult, nav.state]);
  return (
    <section className="card" aria-labelledby="env-title">
      <div className="section-head">
        <h2 id="env-title">Environment variables</h2>
        <p className="muted small">Changing a variable restarts the sandbox so it picks up the new value.</p>
      </div>
      {envResult ? (
        <p className={`alert ${'error' in envResult ? 'alert-error' : 'alert-ok'}`} role="status">
          {'error' in envResult ? envResult.error : envResult.ok}
        </p>
      ) : null}
      {CATEGORIES.map((c) => {
        const list = vars.filter((v) => v.category === c.id);
        return (
          <div key={c.id} className="env-group" data-category={c.id}>
            <h3>
              {c.label} <span className="count">{list.length}</span>
            </h3>
            <p className="muted small">{c.hint}</p>
            {list.length ? (
              <table className="env-table">
                <tbody>
                  {list.map((v) => (
                    <EnvRow key={v.id} v={v} />
                  ))}
                </tbody>
              </table>
            ) : null}
          </div>
        );
      })}
      <Form method="post" className="env-add" ref={formRef} aria-label="Add a variable">
        <input type="hidden" name="intent" value="env-add" />
        <label className="field">
          <span>Name</span>
          <input name="key" required maxLength={128} pattern="[A-Za-z_][A-Za-z0-9_]*" placeholder="API_URL" title="Letters, digits and _ ; not starting with a digit" />
        </label>
        <label className="field grow">
          <span>Value</span>
          <input name="value" maxLength={16384} placeholder="https://…" />
        </label>
        <label className="field">
          <span>Category</span>
          <select name="category" defaultValue="general">
            {CATEGORIES.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <button className="btn btn-primary" type="submit" disabled={nav.state === 'submitting'}>
          Add variable
        </button>
      </Form>
    </section>
  );
}
