// Error mapping and the client's request handling, without a cluster.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { EgressRefusedError } from '../../server/egress';
import { parseKubeconfig, tokenKubeconfig } from '../../server/kubeconfig';
import { mapKubeError } from './errors';
import { KubeApiError, KubeClient, KubeTimeoutError } from './kube-client';

const causes = [{ field: 'metadata.name', message: 'Invalid value: "Bad_Name"', reason: 'FieldValueInvalid' }];

describe('mapKubeError', () => {
  it.each([
    [422, 'InvalidSpec'],
    [400, 'InvalidSpec'],
    [403, 'Forbidden'],
    [401, 'KubeconfigInvalid'],
    [404, 'NotFound'],
  ])('HTTP %i is non-retryable with type %s', (status, type) => {
    const err = mapKubeError(new KubeApiError(status, 'Reason', 'server message', causes), 'StatefulSet ns/x');
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as ApplicationFailure).type).toBe(type);
    expect(err.message).toContain('StatefulSet ns/x');
  });

  it('names the rejected field for 422', () => {
    const err = mapKubeError(new KubeApiError(422, 'Invalid', 'x is invalid', causes), 'StatefulSet ns/Bad_Name');
    expect(err.message).toContain('metadata.name: Invalid value: "Bad_Name"');
  });

  it.each([409, 429, 500, 503, 504])('HTTP %i stays retryable', (status) => {
    const err = mapKubeError(new KubeApiError(status, '', 'busy', []), 'Service ns/x');
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect(err.message).toContain('will retry');
  });

  it('an egress refusal is non-retryable: a user kubeconfig naming an internal address does not fix itself', () => {
    const err = mapKubeError(new EgressRefusedError('127.0.0.1 is a loopback address'), 'StatefulSet ns/x');
    expect((err as ApplicationFailure).type).toBe('KubeconfigInvalid');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
  });

  it('connection errors and timeouts stay retryable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(mapKubeError(refused, 'Ingress ns/x')).not.toBeInstanceOf(ApplicationFailure);
    expect(mapKubeError(refused, 'Ingress ns/x').message).toContain('ECONNREFUSED');
    expect(mapKubeError(new KubeTimeoutError('GET /x', 50), 'Ingress ns/x')).toBeInstanceOf(KubeTimeoutError);
  });
});

describe('KubeClient timeout', () => {
  it('gives up on an API server that accepts but never answers', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s)); // never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const kc = parseKubeconfig(tokenKubeconfig({ name: 'x', server: `http://127.0.0.1:${port}`, token: 't', namespace: 'ns1' }), { trusted: true });
    const client = new KubeClient(kc, { timeoutMs: 300 });
    expect(client.namespace).toBe('ns1');
    try {
      await expect(client.get({ apiVersion: 'v1', kind: 'Service', name: 's' })).rejects.toBeInstanceOf(KubeTimeoutError);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => server.close(r));
    }
  });
});

describe('KubeClient requests', () => {
  it('sends objects as given (name case, fields unknown to client-node) and reads an operator tokenFile per request', async () => {
    const seen: Array<{ method?: string; url?: string; auth?: string; type?: string; body: string }> = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body || JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', creationTimestamp: '2024-01-01T00:00:00Z' } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-kube-'));
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, 'first\n');
    const kubeconfig = JSON.parse(tokenKubeconfig({ name: 'x', server: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, token: 'unused', namespace: 'ns1' }));
    kubeconfig.users[0].user = { tokenFile };
    const client = new KubeClient(parseKubeconfig(JSON.stringify(kubeconfig), { trusted: true }), { timeoutMs: 5000 });
    try {
      const sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'Mixed_Case' }, spec: { replicas: 1, notInTheModel: 'kept' } };
      await client.apply(sts);
      fs.writeFileSync(tokenFile, 'second');
      const pod = await client.get({ apiVersion: 'v1', kind: 'Pod', name: 'p' });
      expect(seen[0]).toMatchObject({
        method: 'PATCH',
        url: '/apis/apps/v1/namespaces/ns1/statefulsets/Mixed_Case?fieldManager=fullstackagent&force=true',
        auth: 'Bearer first',
        type: 'application/apply-patch+yaml',
      });
      expect(JSON.parse(seen[0]!.body)).toEqual(sts);
      expect(seen[1]).toMatchObject({ method: 'GET', url: '/api/v1/namespaces/ns1/pods/p', auth: 'Bearer second' });
      expect(pod?.metadata.creationTimestamp).toBe('2024-01-01T00:00:00Z'); // a string as sent, not a Date
    } finally {
      client.close();
      fs.rmSync(dir, { recursive: true, force: true });
      await new Promise((r) => server.close(r));
    }
  });
});
