// Lifecycle policies through the HTTP API, on real Temporal, PostgreSQL and a worker with
// fake Kubernetes: the timeline names who did what (session user, API token, CLI), the idle
// auto-stop setting is validated and explains itself, "keep running", start?wait=RUNNING.
// One idle "minute" lasts 600 ms here (context.idleMinuteMs), so 5 minutes are 3 seconds.
import { ApiClient, startWebHarness, waitFor, type WebHarness } from './harness';

describe('lifecycle policies over the API', () => {
  let h: WebHarness;
  let ada: ApiClient;
  let token: ApiClient;
  let cli: ApiClient;
  let bob: ApiClient;
  beforeAll(async () => {
    h = await startWebHarness({
      prefix: 'fsa_web_policies',
      worker: true,
      env: { IDLE_TIMEOUT_MINUTES: '0', START_WAIT_MAX_S: '120' },
      app: { context: { idleMinuteMs: 600, timings: { initialBackoffMs: 100, maxBackoffMs: 400, idleWarningMs: 1_000 } } },
    });
    ada = new ApiClient(h.baseUrl);
    await ada.signIn('ada');
    const created = await ada.call('POST', '/api/tokens', { name: 'ci' });
    token = new ApiClient(h.baseUrl);
    token.token = created.body.token;
    cli = new ApiClient(h.baseUrl);
    cli.token = created.body.token;
    bob = new ApiClient(h.baseUrl);
    await bob.signIn('bob');
  });
  afterAll(async () => {
    await h?.close();
  });

  const running = (c: ApiClient, id: string) => waitFor(() => c.call('GET', `/api/projects/${id}`), (r) => r.body.status === 'RUNNING', 30_000, 'RUNNING');

  it('records who did what: the session user, an API token by name, the CLI', async () => {
    const created = await ada.call('POST', '/api/projects', { name: 'audited' });
    const id = created.body.id;
    await running(ada, id);
    expect((await token.call('POST', `/api/projects/${id}/stop`)).status).toBe(202);
    await waitFor(() => ada.call('GET', `/api/projects/${id}`), (r) => r.body.status === 'STOPPED', 30_000, 'STOPPED');
    const stopped = await ada.call('GET', `/api/projects/${id}`);
    expect(stopped.body.explanation).toEqual({ kind: 'stopped', text: expect.stringMatching(/^stopped by API token "ci" at \d\d:\d\d UTC$/) });
    // The fsa CLI identifies itself; its token names it.
    const res = await cli.raw('POST', `/api/projects/${id}/start`, { headers: { 'user-agent': 'fsa-cli' } });
    expect(res.status).toBe(202);
    await running(ada, id);

    // The status may come from the workflow's query before the worker wrote the timeline.
    const history = await waitFor(
      () => ada.call('GET', `/api/projects/${id}/events?history=1`),
      (r) => r.status !== 200 || r.body.events.filter((e: { kind: string }) => e.kind === 'intent').length >= 3,
      30_000,
      'three intents in the timeline',
    );
    expect(history.status).toBe(200);
    const intents = history.body.events
      .filter((e: { kind: string }) => e.kind === 'intent')
      .map((e: { action: string; actor: unknown }) => [e.action, e.actor])
      .reverse();
    expect(intents).toEqual([
      ['RUNNING', { kind: 'user', name: 'ada' }],
      ['STOPPED', { kind: 'token', name: 'ci' }],
      ['RUNNING', { kind: 'cli', name: 'ci' }],
    ]);
    const transitions = history.body.events.filter((e: { kind: string }) => e.kind === 'transition');
    expect(transitions.some((t: { from: string; to: string; durationMs: number }) => t.from === 'STOPPING' && t.to === 'STOPPED' && t.durationMs >= 0)).toBe(true);
    // The same through /timeline, paged.
    const page = await ada.call('GET', `/api/projects/${id}/timeline?limit=2`);
    expect(page.body.events).toHaveLength(2);
    expect(page.body.events[0].seq).toBeGreaterThan(page.body.events[1].seq);
    const next = await ada.call('GET', `/api/projects/${id}/timeline?limit=2&before=${page.body.nextBefore}`);
    expect(next.body.events[0].seq).toBe(page.body.nextBefore - 1);
    // Validated, and another user's timeline is a 404.
    expect((await ada.call('GET', `/api/projects/${id}/timeline?limit=0`)).status).toBe(400);
    expect((await ada.call('GET', `/api/projects/${id}/timeline?evil=1`)).status).toBe(400);
    expect((await bob.call('GET', `/api/projects/${id}/events?history=1`)).status).toBe(404);
    expect((await bob.call('GET', `/api/projects/${id}/timeline`)).status).toBe(404);
  });

  it('validates the idle setting, stops an idle project with the reason, and keep-running is owner-only', async () => {
    const created = await ada.call('POST', '/api/projects', { name: 'idle' });
    const id = created.body.id;
    const up = await running(ada, id);
    // Platform default is off here.
    expect(up.body).toMatchObject({ idleTimeoutMinutes: null, effectiveIdleTimeoutMinutes: null });
    expect(up.body.explanation.text).toBe('kept running because auto-stop is off');

    for (const bad of [4, 1441, 2.5, '30', 'off', -1]) {
      const r = await ada.call('PUT', `/api/projects/${id}/idle`, { idleTimeoutMinutes: bad });
      expect([bad, r.status]).toEqual([bad, 400]);
    }
    expect((await ada.call('PUT', `/api/projects/${id}/idle`, { idleTimeoutMinutes: 30, extra: 1 })).status).toBe(400);
    expect((await bob.call('PUT', `/api/projects/${id}/idle`, { idleTimeoutMinutes: 30 })).status).toBe(404);
    expect((await bob.call('POST', `/api/projects/${id}/keep-running`)).status).toBe(404);

    const set = await ada.call('PUT', `/api/projects/${id}/idle`, { idleTimeoutMinutes: 5 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ idleTimeoutMinutes: 5, effectiveIdleTimeoutMinutes: 5 });
    // 5 "minutes" = 3 s here; the warning shows in the API before the stop.
    const warned = await waitFor(() => ada.call('GET', `/api/projects/${id}`), (r) => !!r.body.idle?.warning || r.body.status !== 'RUNNING', 30_000, 'warning');
    expect(warned.body.status).toBe('RUNNING');
    expect(warned.body.explanation.text).toMatch(/^kept running because it was started or kept running at .*; stops at /);
    expect((await ada.call('POST', `/api/projects/${id}/keep-running`)).status).toBe(202);
    await waitFor(() => ada.call('GET', `/api/projects/${id}`), (r) => r.body.idle?.warning === null, 30_000, 'warning gone');

    const stopped = await waitFor(() => ada.call('GET', `/api/projects/${id}`), (r) => r.body.status === 'STOPPED', 30_000, 'idle stop');
    expect(stopped.body.lastIntent).toMatchObject({ desired: 'STOPPED', actor: { kind: 'idle' } });
    expect(stopped.body.explanation.text).toMatch(/^stopped by the idle policy at \d\d:\d\d UTC: idle for 3 s: no terminal activity since it started at \d\d:\d\d UTC$/);
    const history = await ada.call('GET', `/api/projects/${id}/events?history=1`);
    const kinds = history.body.events.map((e: { kind: string }) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['policy', 'idle-warning', 'keep-running']));
    expect(history.body.events.find((e: { kind: string }) => e.kind === 'keep-running').actor).toEqual({ kind: 'user', name: 'ada' });

    // Off, and back to the platform default.
    const off = await ada.call('PUT', `/api/projects/${id}/idle`, { idleTimeoutMinutes: null });
    expect(off.body).toMatchObject({ idleTimeoutMinutes: 0, effectiveIdleTimeoutMinutes: null });
    const def = await ada.call('PUT', `/api/projects/${id}/idle`, { idleTimeoutMinutes: 'default' });
    expect(def.body).toMatchObject({ idleTimeoutMinutes: null, effectiveIdleTimeoutMinutes: null });
  });

  it('opts a project in to app-URL activity: validated, stored, told to the lifecycle once per change, in the timeline', async () => {
    const id = (await ada.call('POST', '/api/projects', { name: 'app-opt-in' })).body.id;
    await running(ada, id);
    expect((await ada.call('GET', `/api/projects/${id}`)).body.appActivity).toBe(false);
    for (const bad of [{}, { appActivity: 'yes' }, { appActivity: 1 }, { appActivity: true, other: 1 }]) {
      expect([bad, (await ada.call('PUT', `/api/projects/${id}/idle`, bad)).status]).toEqual([bad, 400]);
    }
    expect((await bob.call('PUT', `/api/projects/${id}/idle`, { appActivity: true })).status).toBe(404);
    const on = await ada.call('PUT', `/api/projects/${id}/idle`, { appActivity: true });
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ appActivity: true, idleTimeoutMinutes: null });
    expect((await ada.call('PUT', `/api/projects/${id}/idle`, { appActivity: true })).status).toBe(200); // no change: not told again
    await waitFor(() => ada.call('GET', `/api/projects/${id}`), (r) => r.body.idle?.appActivity === true, 15_000, 'the lifecycle knows');
    const history = await waitFor(
      () => ada.call('GET', `/api/projects/${id}/events?history=1`),
      (r) => r.body.events.some((e: { action: string }) => e.action === 'app-activity'),
      15_000,
      'the opt-in in the timeline',
    );
    const entries = history.body.events.filter((e: { action: string }) => e.action === 'app-activity');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ kind: 'policy', actor: { kind: 'user', name: 'ada' }, message: "requests to the app's URL count as activity" });
  });

  it('start?wait=RUNNING waits for the project to run; its query is validated', async () => {
    const created = await ada.call('POST', '/api/projects', { name: 'waiter' });
    const id = created.body.id;
    await running(ada, id);
    await ada.call('POST', `/api/projects/${id}/stop`);
    await waitFor(() => ada.call('GET', `/api/projects/${id}`), (r) => r.body.status === 'STOPPED', 30_000, 'STOPPED');

    for (const q of ['wait=STOPPED', 'wait=RUNNING&timeout=0', 'wait=RUNNING&timeout=121', 'wait=RUNNING&timeout=abc', 'timeout=10', 'wait=RUNNING&x=1']) {
      const r = await ada.call('POST', `/api/projects/${id}/start?${q}`);
      expect([q, r.status]).toEqual([q, 400]);
    }
    expect((await bob.call('POST', `/api/projects/${id}/start?wait=RUNNING&timeout=5`)).status).toBe(404);
    const started = await ada.call('POST', `/api/projects/${id}/start?wait=RUNNING&timeout=60`);
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ id, action: 'start', accepted: true, wait: { for: 'RUNNING', reached: true, status: 'RUNNING' } });
    expect(started.body.project.status).toBe('RUNNING');
  });
});
