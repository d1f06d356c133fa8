// The one place that names versions of what runs inside a user's namespace.
export const RUNTIME_IMAGE_REPOSITORY = 'ghcr.io/fullstackagent/fullstack-web-runtime';
export const RUNTIME_IMAGE_VERSION = '0.2.0';
export const RUNTIME_IMAGE = `${RUNTIME_IMAGE_REPOSITORY}:${RUNTIME_IMAGE_VERSION}`;

export const KUBEBLOCKS_POSTGRES = {
  clusterDefinitionRef: 'postgresql',
  clusterVersionRef: 'postgresql-14.8.0',
  componentDefRef: 'postgresql',
} as const;
