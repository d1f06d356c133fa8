// Exit codes scripts can rely on (documented in README.md "Command-line client") and the
// one error type every command throws: what went wrong (the API's own message when it
// answered) and what to do about it.

export const EXIT = {
  OK: 0,
  /** Anything else: refused credentials, the server unreachable or failing, a project in ERROR. */
  ERROR: 1,
  /** Bad command line, or input the API's validation rejected (400/422). */
  USAGE: 2,
  /** No such project, variable or token (404). */
  NOT_FOUND: 3,
  /** The request conflicts with the current state (409): a taken name, a project being deleted, a limit. */
  CONFLICT: 4,
  /** --wait/--timeout ran out, or the server did not answer in time. */
  TIMEOUT: 5,
  /** Interrupted (Ctrl-C / SIGINT / SIGTERM) before the command finished. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.ERROR,
    /** What the user can do about it; printed after the message. */
    readonly fix?: string,
    /** The API's error code (or a CLI code such as "timeout", "usage", "network"). */
    readonly code = 'error',
    /** HTTP status when the API answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usage = (message: string, fix?: string) => new CliError(message, EXIT.USAGE, fix, 'usage');

/** Exit code for an API error answer. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 400 || status === 422) return EXIT.USAGE;
  if (status === 404) return EXIT.NOT_FOUND;
  if (status === 409) return EXIT.CONFLICT;
  if (status === 408 || status === 504) return EXIT.TIMEOUT;
  return EXIT.ERROR;
}
