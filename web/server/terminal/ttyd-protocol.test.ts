import {
  basicAuthHeader,
  decodeClientFrame,
  decodeServerFrame,
  encodeInit,
  encodeInput,
  encodePause,
  encodeResize,
  encodeResume,
  ttydCredential,
} from './ttyd-protocol';

describe('ttyd credential', () => {
  it('is base64 of user:token, as ttyd -c user:token expects', () => {
    expect(ttydCredential('user', 'abc')).toBe('dXNlcjphYmM=');
    expect(Buffer.from(ttydCredential('user', 'p:a:ss'), 'base64').toString()).toBe('user:p:a:ss');
    expect(basicAuthHeader('user', 'abc')).toBe('Basic dXNlcjphYmM=');
  });
});

describe('client -> ttyd frames', () => {
  it('the first message is the JSON init with AuthToken and size', () => {
    const init = encodeInit('dXNlcjphYmM=', { columns: 100, rows: 30 });
    expect(JSON.parse(init.toString())).toEqual({ AuthToken: 'dXNlcjphYmM=', columns: 100, rows: 30 });
    expect(decodeClientFrame(init)).toEqual({ type: 'init', authToken: 'dXNlcjphYmM=', size: { columns: 100, rows: 30 } });
  });

  it('input is "0" + the raw bytes, untouched', () => {
    const bytes = Buffer.from([0xff, 0x00, 0x80, 0x1b]);
    const f = encodeInput(bytes);
    expect(f[0]).toBe(0x30);
    expect(f.subarray(1).equals(bytes)).toBe(true);
    expect(encodeInput('é').equals(Buffer.from('0é'))).toBe(true);
    // A view into a larger buffer encodes only its own bytes.
    const view = new Uint8Array([9, 9, 0x41, 0x42, 9]).subarray(2, 4);
    expect(encodeInput(view).toString()).toBe('0AB');
    expect(decodeClientFrame(f)).toEqual({ type: 'input', data: bytes });
  });

  it('resize is "1" + JSON {columns, rows}; pause "2", resume "3"', () => {
    expect(encodeResize({ columns: 132, rows: 43 }).toString()).toBe('1{"columns":132,"rows":43}');
    expect(decodeClientFrame(encodeResize({ columns: 132, rows: 43 }))).toEqual({ type: 'resize', size: { columns: 132, rows: 43 } });
    expect(decodeClientFrame(encodePause())).toEqual({ type: 'pause' });
    expect(decodeClientFrame(encodeResume())).toEqual({ type: 'resume' });
    expect(decodeClientFrame(Buffer.from('1not json'))).toEqual({ type: 'unknown', command: '1' });
  });
});

describe('ttyd -> client frames', () => {
  it('decodes output (binary-safe), window title and preferences', () => {
    const out = Buffer.concat([Buffer.from('0'), Buffer.from([0xc3, 0x28, 0xff])]);
    expect(decodeServerFrame(out)).toEqual({ type: 'output', data: Buffer.from([0xc3, 0x28, 0xff]) });
    expect(decodeServerFrame(Buffer.from('1bash - ttyd'))).toEqual({ type: 'title', title: 'bash - ttyd' });
    expect(decodeServerFrame(Buffer.from('2{"fontSize":14}'))).toEqual({ type: 'preferences', preferences: { fontSize: 14 } });
  });

  it('tolerates frames it does not know', () => {
    expect(decodeServerFrame(Buffer.from('2[1,2]'))).toEqual({ type: 'unknown', command: '2' });
    expect(decodeServerFrame(Buffer.from('2{'))).toEqual({ type: 'unknown', command: '2' });
    expect(decodeServerFrame(Buffer.from('9x'))).toEqual({ type: 'unknown', command: '9' });
    expect(decodeServerFrame(Buffer.alloc(0))).toEqual({ type: 'unknown', command: '' });
  });
});
