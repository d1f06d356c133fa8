// Connection options for Temporal, shared by the web (Connection.connect) and the worker
// (NativeConnection.connect): address, TLS (server CA, client certificate pair, server
// name override) and API key, all from the validated configuration. The namespace goes
// on the Client / Worker: `namespace: config.TEMPORAL_NAMESPACE`.
import fs from 'node:fs';
import { ConfigError, type Config } from './config';

export interface TemporalTlsOptions {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

/** Accepted as-is by both `Connection.connect` (client) and `NativeConnection.connect` (worker). */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TemporalTlsOptions;
  apiKey?: string;
}

export type TemporalConnectionConfig = Pick<
  Config,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_TLS'
  | 'TEMPORAL_TLS_CERT'
  | 'TEMPORAL_TLS_KEY'
  | 'TEMPORAL_TLS_CA'
  | 'TEMPORAL_TLS_SERVER_NAME'
  | 'TEMPORAL_API_KEY'
>;

function readPem(variable: string, file: string): Buffer {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    throw new ConfigError([`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); point it at a readable PEM file`]);
  }
  if (!data.includes('-----BEGIN ')) {
    throw new ConfigError([`${variable}: ${file} is not a PEM file (no "-----BEGIN" line)`]);
  }
  return data;
}

/** True when the connection to Temporal uses TLS. */
export function temporalUsesTls(c: TemporalConnectionConfig): boolean {
  if (c.TEMPORAL_TLS !== undefined) return c.TEMPORAL_TLS;
  return !!(c.TEMPORAL_TLS_CERT || c.TEMPORAL_TLS_CA || c.TEMPORAL_TLS_SERVER_NAME || c.TEMPORAL_API_KEY);
}

export function temporalConnectionOptions(c: TemporalConnectionConfig): TemporalConnectionOptions {
  const options: TemporalConnectionOptions = { address: c.TEMPORAL_ADDRESS };
  if (c.TEMPORAL_API_KEY) options.apiKey = c.TEMPORAL_API_KEY;
  if (!temporalUsesTls(c)) return options;
  const tls: TemporalTlsOptions = {};
  if (c.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = c.TEMPORAL_TLS_SERVER_NAME;
  if (c.TEMPORAL_TLS_CA) tls.serverRootCACertificate = readPem('TEMPORAL_TLS_CA', c.TEMPORAL_TLS_CA);
  if (c.TEMPORAL_TLS_CERT || c.TEMPORAL_TLS_KEY) {
    if (!c.TEMPORAL_TLS_CERT || !c.TEMPORAL_TLS_KEY) {
      throw new ConfigError(['TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both for mTLS, or neither']);
    }
    tls.clientCertPair = { crt: readPem('TEMPORAL_TLS_CERT', c.TEMPORAL_TLS_CERT), key: readPem('TEMPORAL_TLS_KEY', c.TEMPORAL_TLS_KEY) };
  }
  options.tls = tls;
  return options;
}

/** For logs and error messages: where and how we connect, never the key or certificates. */
export function describeTemporalConnection(c: TemporalConnectionConfig & Pick<Config, 'TEMPORAL_NAMESPACE'>): string {
  const parts = [`${c.TEMPORAL_ADDRESS} namespace=${c.TEMPORAL_NAMESPACE}`];
  if (temporalUsesTls(c)) parts.push(c.TEMPORAL_TLS_CERT ? 'mTLS' : 'TLS');
  if (c.TEMPORAL_API_KEY) parts.push('api-key');
  return parts.join(' ');
}
