// The sandbox's objects as pure data: secret variables only in the env Secret, the
// StatefulSet referencing them and carrying a keyed digest, the security context.
import {
  SANDBOX_CONTAINER_SECURITY_CONTEXT,
  SANDBOX_GID,
  SANDBOX_POD_SECURITY_CONTEXT,
  SANDBOX_UID,
  SECRET_DIGEST_ANNOTATION,
  containerEnv,
  sandboxSecret,
  sandboxSecretName,
  sandboxStatefulSet,
  secretDigest,
  secretEnvData,
  type EnvVar,
} from './manifests';

const ref = { projectId: 'p1', ownerId: 'u1', k8sName: 'app-agentruntime-abcdef' };
const env: EnvVar[] = [
  { name: 'TTYD_ACCESS_TOKEN', value: 'tok-123', secret: true },
  { name: 'FOO', value: 'bar' },
  { name: 'API_SECRET', value: 'hunter2', secret: true },
  { name: 'PROJECT_NAME', value: 'My App' },
];
const sts = (e = env, digest = 'd') =>
  sandboxStatefulSet({ ref, namespace: 'ns', image: 'img', env: e, secretDigest: digest, cpuRequest: '20m', memoryRequest: '25Mi', replicas: 1 }) as unknown as {
    spec: { template: { metadata: { annotations: Record<string, string> }; spec: Record<string, unknown> & { containers: Array<Record<string, unknown>> } } };
  };

describe('env Secret and references', () => {
  it('the Secret holds exactly the secret variables, base64, under the project labels', () => {
    const s = sandboxSecret({ ref, namespace: 'ns', env }) as unknown as { metadata: { name: string; labels: Record<string, string> }; data: Record<string, string>; type: string };
    expect(s.metadata.name).toBe(sandboxSecretName(ref));
    expect(s.metadata.labels).toMatchObject({ 'project.fullstackagent.io/id': 'p1', app: ref.k8sName, 'cloud.sealos.io/app-deploy-manager': ref.k8sName });
    expect(s.type).toBe('Opaque');
    expect(Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))).toEqual({ API_SECRET: 'hunter2', TTYD_ACCESS_TOKEN: 'tok-123' });
  });

  it('the container env is sorted, literal for plain variables, secretKeyRef for secret ones', () => {
    expect(containerEnv(ref, env)).toEqual([
      { name: 'API_SECRET', valueFrom: { secretKeyRef: { name: sandboxSecretName(ref), key: 'API_SECRET' } } },
      { name: 'FOO', value: 'bar' },
      { name: 'PROJECT_NAME', value: 'My App' },
      { name: 'TTYD_ACCESS_TOKEN', valueFrom: { secretKeyRef: { name: sandboxSecretName(ref), key: 'TTYD_ACCESS_TOKEN' } } },
    ]);
  });

  it('no secret value is anywhere in the StatefulSet; the digest is its only trace', () => {
    const text = JSON.stringify(sts(env, secretDigest(secretEnvData(env), 'tok-123')));
    for (const v of ['hunter2', 'tok-123', Buffer.from('hunter2').toString('base64')]) expect(text).not.toContain(v);
  });

  it('the digest changes with any secret value or key, not with order, and depends on the key', () => {
    const base = secretDigest({ A: '1', B: '2' }, 'k');
    expect(secretDigest({ B: '2', A: '1' }, 'k')).toBe(base);
    expect(secretDigest({ A: '1', B: '3' }, 'k')).not.toBe(base);
    expect(secretDigest({ A: '1', C: '2' }, 'k')).not.toBe(base);
    expect(secretDigest({ A: '1', B: '2' }, 'other')).not.toBe(base);
    // Not a plain hash a reader could check guesses against without the key.
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(sts(env, base).spec.template.metadata.annotations[SECRET_DIGEST_ANNOTATION]).toBe(base);
  });
});

describe('security context', () => {
  it('runs as the image user, non-root, without privilege escalation or capabilities, with seccomp RuntimeDefault', () => {
    const tpl = sts().spec.template.spec;
    expect(tpl.securityContext).toEqual({ ...SANDBOX_POD_SECURITY_CONTEXT });
    expect(SANDBOX_POD_SECURITY_CONTEXT).toMatchObject({ runAsUser: SANDBOX_UID, runAsGroup: SANDBOX_GID, fsGroup: SANDBOX_GID, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(tpl.containers[0]!.securityContext).toEqual({ ...SANDBOX_CONTAINER_SECURITY_CONTEXT });
    expect(SANDBOX_CONTAINER_SECURITY_CONTEXT).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true });
    expect(tpl.automountServiceAccountToken).toBe(false);
    expect(tpl.hostNetwork).toBeUndefined();
  });
});
