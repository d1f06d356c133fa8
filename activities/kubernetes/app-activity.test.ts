// Reading the sandbox's app-activity lines out of a pods/log answer (with timestamps).
import { lastAppActivity } from './app-activity';

describe('lastAppActivity', () => {
  const log = [
    '2026-01-01T12:00:00.100000000Z [2026/01/01 12:00:00:1000] [TTYD] N: ttyd 1.7.7 (libwebsockets 4.3.3)',
    '2026-01-01T12:00:05.000000000Z fsa-app-activity at=2026-01-01T12:00:04Z connections=1',
    '2026-01-01T12:01:05.000000000Z fsa-app-activity at=2026-01-01T12:00:58Z connections=2',
    '2026-01-01T12:01:06.000000000Z echo fsa-app-activity at=2026-01-01T12:59:00Z from the shell is not a line of its own',
    '2026-01-01T12:02:05.000000000Z fsa-app-activity at=2026-01-01T13:00:00Z connections=1',
    '',
  ].join('\n');

  it('takes the last activity after the given time, never later than the kubelet wrote the line', () => {
    expect(new Date(lastAppActivity(log, Date.parse('2026-01-01T12:00:00Z'))!).toISOString()).toBe('2026-01-01T12:02:05.000Z');
    expect(lastAppActivity(log.split('\n').slice(0, 3).join('\n'), Date.parse('2026-01-01T12:00:00Z'))).toBe(Date.parse('2026-01-01T12:00:58.999Z'));
    expect(lastAppActivity(log.split('\n').slice(0, 3).join('\n'), Date.parse('2026-01-01T12:00:58.999Z'))).toBeNull();
  });

  it('counts a request seen in the same second as the start, after it', () => {
    // The watcher writes whole seconds: at=12:00:04Z is a request seen in [12:00:04, 12:00:05).
    const line = '2026-01-01T12:00:04.950000000Z fsa-app-activity at=2026-01-01T12:00:04Z connections=1';
    expect(lastAppActivity(line, Date.parse('2026-01-01T12:00:04.300Z'))).toBe(Date.parse('2026-01-01T12:00:04.950Z'));
    expect(lastAppActivity(line, Date.parse('2026-01-01T12:00:04.950Z'))).toBeNull();
  });

  it('is no signal for an empty log, other lines, or garbage', () => {
    expect(lastAppActivity('', 0)).toBeNull();
    expect(lastAppActivity('2026-01-01T12:00:00Z ttyd says hello\nnot a line', 0)).toBeNull();
    expect(lastAppActivity('garbage fsa-app-activity at=2026-01-01T12:00:00Z', 0)).toBeNull();
  });
});
