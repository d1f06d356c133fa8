// The sandbox's derived status and the reason shown when it is not settled (pure).
import { deriveSandbox } from './index';

const sts = (ready: number) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'demo', generation: 1 },
  spec: { replicas: 1 },
  status: { replicas: 1, readyReplicas: ready, currentReplicas: 1, updatedReplicas: 1, observedGeneration: 1 },
});
const pod = (status: object) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'demo-0' }, status });

describe('deriveSandbox', () => {
  it('names what the kubelet says about a waiting container first (a missing image)', () => {
    const d = deriveSandbox(
      sts(0),
      [
        pod({
          conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [sandbox]' }],
          containerStatuses: [{ name: 'sandbox', state: { waiting: { reason: 'ErrImagePull', message: 'failed to pull image "localhost/missing:1": not found' } } }],
        }),
      ] as never,
      'demo',
    );
    expect(d.status).toBe('STARTING');
    expect(d.reason).toMatch(/^StatefulSet demo: 0\/1 ready, 1 pod\(s\); demo-0\/sandbox: ErrImagePull: failed to pull image "localhost\/missing:1"/);
  });

  it('says nothing extra while a container is only being created, and nothing at all when running', () => {
    const creating = deriveSandbox(sts(0), [pod({ containerStatuses: [{ name: 'sandbox', state: { waiting: { reason: 'ContainerCreating' } } }] })] as never, 'demo');
    expect(creating.reason).toBe('StatefulSet demo: 0/1 ready, 1 pod(s)');
    const running = deriveSandbox(sts(1), [pod({ conditions: [{ type: 'Ready', status: 'True' }] })] as never, 'demo');
    expect(running).toEqual({ status: 'RUNNING' });
  });
});
