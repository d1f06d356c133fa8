import { DEFAULT_TIMINGS } from '../common/lifecycle';
import { LifecycleState, nextBackoff, visibleKey } from './lifecycle-state';

describe('nextBackoff', () => {
  it('doubles from 1 s and is capped at 30 s (the design defaults)', () => {
    const seq = [DEFAULT_TIMINGS.initialBackoffMs];
    while (seq.length < 8) seq.push(nextBackoff(seq.at(-1)!, DEFAULT_TIMINGS.maxBackoffMs));
    expect(seq).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });
});

describe('LifecycleState', () => {
  let t = 0;
  const now = () => new Date(Date.UTC(2026, 0, 1) + t * 1000);
  const input = { projectId: 'p', ownerId: 'u', k8sName: 'k', projectName: 'n' };

  it('starts CREATING with five pending stages and desires RUNNING', () => {
    const s = new LifecycleState(input, now);
    const v = s.view();
    expect(v.status).toBe('CREATING');
    expect(v.desired).toBe('RUNNING');
    expect(v.stages.map((x) => `${x.name}:${x.state}`)).toEqual(['database:pending', 'container:pending', 'network:pending', 'terminal:pending', 'ready:pending']);
    expect(v.database).toEqual({ status: 'CREATING' });
  });

  it('times stages, settles active ones on failure or interruption, and resets from a stage', () => {
    const s = new LifecycleState(input, now);
    t = 1;
    s.beginStage('database');
    t = 3;
    s.finishStage('database');
    s.beginStage('container');
    expect(s.view().stages[0]).toEqual({ name: 'database', state: 'done', startedAt: '2026-01-01T00:00:01.000Z', finishedAt: '2026-01-01T00:00:03.000Z' });
    s.settleActiveStages('failed');
    expect(s.view().stages[1]!.state).toBe('failed');
    s.beginStage('network');
    s.settleActiveStages('pending');
    expect(s.view().stages[2]).toEqual({ name: 'network', state: 'pending' });
    s.resetStagesFrom('container');
    expect(s.view().stages.map((x) => x.state)).toEqual(['done', 'pending', 'pending', 'pending', 'pending']);
  });

  it('carries everything across continue-as-new', () => {
    const s = new LifecycleState(input, now);
    s.desired = 'STOPPED';
    s.setSandbox('STOPPED', { publicUrl: 'https://a', ttydUrl: 'https://b' });
    s.setDatabase('STOPPED', { host: 'h', port: 5432 });
    s.envGeneration = 3;
    s.appliedEnvGeneration = 2;
    s.sandboxCreated = true;
    s.fail('boom');
    const next = new LifecycleState({ ...input, carried: s.carry() }, now);
    expect(next.view()).toEqual(s.view());
    expect(next.carry()).toEqual(s.carry());
  });

  it('visibleKey ignores updatedAt only', () => {
    const s = new LifecycleState(input, now);
    const before = visibleKey(s.view());
    t = 99;
    s.touch();
    expect(visibleKey(s.view())).toBe(before);
    s.setSandbox('STARTING');
    expect(visibleKey(s.view())).not.toBe(before);
  });
});
