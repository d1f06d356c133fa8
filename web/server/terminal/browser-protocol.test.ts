import {
  encodeClientControl,
  encodeServerControl,
  isSessionId,
  normalizeSize,
  parseClientControl,
  parseServerControl,
  parseTerminalQuery,
  terminalSocketPath,
} from './browser-protocol';

describe('terminal socket URL', () => {
  it('round-trips size and session through the query', () => {
    const path = terminalSocketPath('proj_1', { size: { columns: 120, rows: 40 }, session: 'tab-2' });
    expect(path).toBe('/api/projects/proj_1/terminal?cols=120&rows=40&session=tab-2');
    expect(parseTerminalQuery(new URL(path, 'http://x').searchParams)).toEqual({ size: { columns: 120, rows: 40 }, session: 'tab-2', wake: false });
    const woken = terminalSocketPath('proj_1', { size: { columns: 120, rows: 40 }, session: 'tab-2', wake: true });
    expect(woken).toBe('/api/projects/proj_1/terminal?cols=120&rows=40&session=tab-2&wake=1');
    expect(parseTerminalQuery(new URL(woken, 'http://x').searchParams).wake).toBe(true);
  });

  it('falls back to 80x24 and the default session for missing or hostile values', () => {
    expect(parseTerminalQuery(new URLSearchParams(''))).toEqual({ size: { columns: 80, rows: 24 }, session: 'default', wake: false });
    expect(parseTerminalQuery(new URLSearchParams('cols=abc&rows=5&session=../../etc&wake=yes'))).toEqual({ size: { columns: 80, rows: 24 }, session: 'default', wake: false });
    expect(isSessionId('a'.repeat(65))).toBe(false);
  });

  it('clamps sizes to sane bounds', () => {
    expect(normalizeSize(100000, -3)).toEqual({ columns: 1000, rows: 1 });
    expect(normalizeSize('80.6', '24')).toEqual({ columns: 81, rows: 24 });
    expect(normalizeSize(undefined, 24)).toBeUndefined();
  });
});

describe('control frames', () => {
  it('page -> proxy: resize only', () => {
    expect(parseClientControl(encodeClientControl({ type: 'resize', columns: 100, rows: 30 }))).toEqual({ type: 'resize', columns: 100, rows: 30 });
    expect(parseClientControl('{"type":"resize","columns":"x","rows":3}')).toBeUndefined();
    expect(parseClientControl('{"type":"exec","cmd":"rm -rf /"}')).toBeUndefined();
    expect(parseClientControl('not json')).toBeUndefined();
  });

  it('proxy -> page: title and preferences', () => {
    expect(parseServerControl(encodeServerControl({ type: 'title', title: 't' }))).toEqual({ type: 'title', title: 't' });
    expect(parseServerControl(encodeServerControl({ type: 'preferences', preferences: { fontSize: 12 } }))).toEqual({
      type: 'preferences',
      preferences: { fontSize: 12 },
    });
    expect(parseServerControl('{"type":"preferences","preferences":[1]}')).toBeUndefined();
    expect(parseServerControl('[]')).toBeUndefined();
  });
});
