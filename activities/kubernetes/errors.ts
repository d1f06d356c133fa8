// Maps Kubernetes API answers to what Temporal should do with them: a spec the API server
// rejects (400/422), a refusal (403), bad credentials (401) or a missing namespace (404 on
// write) will not fix themselves -> non-retryable with a message naming the object and
// field; 409 (a conflicting write), 429, 5xx, connection errors and timeouts are transient
// -> a plain Error, which the activity retry policy retries.
import { ApplicationFailure } from '@temporalio/common';
import type { NonRetryableErrorType } from '../types';
import { EgressRefusedError } from '../../server/egress';
import { KubeApiError, KubeResponseTooLargeError, KubeTimeoutError } from './kube-client';

export function nonRetryable(message: string, type: NonRetryableErrorType, details?: unknown): ApplicationFailure {
  return details === undefined ? ApplicationFailure.nonRetryable(message, type) : ApplicationFailure.nonRetryable(message, type, details);
}

/** `what` names the object, e.g. `StatefulSet ns-u1/app-agentruntime-abcdef`. */
export function mapKubeError(err: unknown, what: string): Error {
  if (err instanceof ApplicationFailure) return err;
  // A user's kubeconfig naming an internal address does not fix itself by retrying.
  if (err instanceof EgressRefusedError) return nonRetryable(`${what}: ${err.message}`, 'KubeconfigInvalid');
  if (err instanceof KubeResponseTooLargeError) return nonRetryable(`${what}: ${err.message}`, 'InvalidSpec');
  if (err instanceof KubeApiError) {
    const fields = err.causes
      .map((c) => [c.field, c.message].filter(Boolean).join(': '))
      .filter(Boolean)
      .join('; ');
    const details = { status: err.status, reason: err.reason, causes: err.causes };
    switch (err.status) {
      case 400:
      case 422:
        return nonRetryable(`${what} was rejected as invalid (HTTP ${err.status}): ${fields || err.message}`, 'InvalidSpec', details);
      case 401:
        return nonRetryable(`${what}: the API server rejected the kubeconfig's credentials (HTTP 401); store a valid kubeconfig`, 'KubeconfigInvalid', details);
      case 403:
        return nonRetryable(`${what}: forbidden (HTTP 403): ${err.message}`, 'Forbidden', details);
      case 404:
        // A write answered 404: the namespace (or the API for the kind) does not exist.
        return nonRetryable(`${what}: not found (HTTP 404): ${err.message}`, 'NotFound', details);
      default: {
        const e = new Error(`${what}: ${err.message} (HTTP ${err.status}; transient, will retry)`);
        e.name = err.status === 429 ? 'KubeThrottled' : 'KubeUnavailable';
        return e;
      }
    }
  }
  if (err instanceof KubeTimeoutError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string } | null)?.code;
  const e = new Error(`${what}: cannot reach the Kubernetes API server: ${code ? `${code} ` : ''}${msg} (transient, will retry)`);
  e.name = 'KubeUnreachable';
  return e;
}
