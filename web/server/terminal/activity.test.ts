// The terminal activity reporter: a burst of frames becomes at most one report per
// interval per project, the first one at once and the last activity at the interval's end.
import { createActivityReporter } from './activity';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('reports the first activity at once, then at most once per interval with the time of the last frame', async () => {
  const reports: { projectId: string; at: number }[] = [];
  let clock = 1_000_000;
  const r = createActivityReporter({ intervalMs: 200, now: () => clock, report: async (projectId, at) => void reports.push({ projectId, at: at.getTime() }) });
  // 1000 keystrokes and output frames on one project, 3 on another, all within one interval.
  for (let i = 0; i < 1000; i++) {
    clock += 1;
    r.touch('a');
  }
  r.touch('b');
  r.touch('b');
  const lastA = clock;
  expect(reports).toEqual([
    { projectId: 'a', at: 1_000_001 },
    { projectId: 'b', at: lastA },
  ]);
  await sleep(320);
  // End of the interval: one trailing report each, carrying the last frame's time.
  expect(reports.slice(2)).toEqual(expect.arrayContaining([{ projectId: 'a', at: lastA }, { projectId: 'b', at: lastA }]));
  expect(reports).toHaveLength(4);
  // A quiet interval: nothing more is sent, and the next frame reports at once again.
  await sleep(450);
  expect(reports).toHaveLength(4);
  clock += 5_000;
  r.touch('a');
  expect(reports).toHaveLength(5);
  expect(r.sent()).toBe(5);
  await r.close();
});

it('sends what is pending on close', async () => {
  const reports: string[] = [];
  const r = createActivityReporter({ intervalMs: 60_000, report: async (projectId) => void reports.push(projectId) });
  r.touch('a');
  r.touch('a');
  await r.close();
  expect(reports).toEqual(['a', 'a']);
  r.touch('a');
  expect(reports).toEqual(['a', 'a']);
});
