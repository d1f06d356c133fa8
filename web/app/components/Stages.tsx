// The five progress stages (database, container, network, terminal, ready) with how long
// each took, or has been running for.
import { duration } from '../lib/format';

export interface StageView {
  name: string;
  state: 'pending' | 'active' | 'done' | 'failed';
  startedAt?: string;
  finishedAt?: string;
}

const LABEL: Record<string, string> = {
  database: 'Database',
  container: 'Container',
  network: 'Network',
  terminal: 'Terminal',
  ready: 'Ready',
};

const STATE_LABEL: Record<StageView['state'], string> = { pending: 'waiting', active: 'in progress', done: 'done', failed: 'failed' };

export function Stages({ stages, now }: { stages: StageView[]; now: number }) {
  return (
    <ol className="stages" aria-label="Progress">
      {stages.map((s, i) => {
        const started = s.startedAt ? new Date(s.startedAt).getTime() : undefined;
        const finished = s.finishedAt ? new Date(s.finishedAt).getTime() : undefined;
        const took = started !== undefined ? duration((finished ?? now) - started) : '';
        return (
          <li key={s.name} className={`stage stage-${s.state}`} data-stage={s.name} data-state={s.state}>
            <span className="stage-icon" aria-hidden="true">
              {s.state === 'done' ? '✓' : s.state === 'failed' ? '!' : i + 1}
            </span>
            <span className="stage-name">{LABEL[s.name] ?? s.name}</span>
            <span className="stage-meta">
              <span className="sr-only">{STATE_LABEL[s.state]}</span>
              {took ? <span>{took}</span> : <span className="muted">{s.state === 'pending' ? '—' : STATE_LABEL[s.state]}</span>}
            </span>
          </li>
        );
      })}
    </ol>
  );
}
