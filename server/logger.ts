// Structured JSON logs. Secrets are redacted by key name wherever they appear.
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'password',
  'token',
  'kubeconfig',
  'authorization',
  'cookie',
  'apiKey',
  'secret',
  'value',
  '*.password',
  '*.token',
  '*.kubeconfig',
  '*.authorization',
  '*.cookie',
  '*.apiKey',
  '*.secret',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.ttydAccessToken',
  '*.TTYD_ACCESS_TOKEN',
  '*.ANTHROPIC_API_KEY',
  '*.DATABASE_URL',
];

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}

export type { Logger };
