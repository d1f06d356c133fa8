// Error mapping and the client's request timeout, without a cluster.
import net from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { parseKubeconfig, tokenKubeconfig } from './kubeconfig';
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
    const kc = parseKubeconfig(tokenKubeconfig({ name: 'x', server: `http://127.0.0.1:${port}`, token: 't', namespace: 'ns1' }));
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
