// Kubernetes naming rules (docs/design.md: "Kubernetes objects per project").
// Pure: randomness is passed in so the workflow and tests stay deterministic.

const MAX_BASE = 20;
const SUFFIX_CHARS = 'abcdefghijklmnopqrstuvwxyz';

/** Lowercase [a-z0-9-], at most 20 characters, never empty, no leading/trailing dash. */
export function toK8sName(projectName: string): string {
  const base = projectName
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, MAX_BASE)
    .replace(/-+$/, '');
  return base || 'project';
}

/** `toK8sName(name)-agentruntime-xxxxxx`; `random` yields numbers in [0, 1). */
export function projectResourceName(projectName: string, random: () => number): string {
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += SUFFIX_CHARS[Math.floor(random() * SUFFIX_CHARS.length)];
  return `${toK8sName(projectName)}-agentruntime-${suffix}`;
}

export const LABELS = {
  projectId: 'project.fullstackagent.io/id',
  projectName: 'project.fullstackagent.io/name',
  app: 'app',
  deployManager: 'cloud.sealos.io/app-deploy-manager',
} as const;

/** The labels every object of a project carries. */
export function projectLabels(projectId: string, k8sName: string, resourceName: string) {
  return {
    [LABELS.projectId]: projectId,
    [LABELS.projectName]: k8sName,
    [LABELS.app]: resourceName,
    [LABELS.deployManager]: resourceName,
  };
}

/** Names of the objects derived from the project's k8s name. */
export function resourceNames(k8sName: string) {
  return {
    statefulSet: k8sName,
    service: k8sName,
    appIngress: `${k8sName}-app`,
    ttydIngress: `${k8sName}-ttyd`,
    cluster: `${k8sName}-db`,
    clusterCredentialSecret: `${k8sName}-db-conn-credential`,
    serviceAccount: `${k8sName}-db`,
    role: `${k8sName}-db`,
    roleBinding: `${k8sName}-db`,
  };
}

export function workflowIdForProject(projectId: string): string {
  return `project-${projectId}`;
}
