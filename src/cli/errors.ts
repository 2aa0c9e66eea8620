/**
 * Turning what pg and the network throw into one line a person can act on.
 */

/** A mistake in how the command was called: printed with the usage text. */
export class UsageError extends Error {
  readonly code = 'QUERYLENS_USAGE';

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface ErrorLike {
  readonly message?: unknown;
  readonly code?: unknown;
  readonly address?: unknown;
  readonly port?: unknown;
  readonly hostname?: unknown;
  readonly errors?: unknown;
}

/** One line: what failed and how to fix it. */
export function explainConnectionError(err: unknown): string {
  const e = (err ?? {}) as ErrorLike;
  // Node's AggregateError for multi-address connects carries the codes on its members
  const inner = Array.isArray(e.errors) && e.errors.length > 0 ? (e.errors[0] as ErrorLike) : e;
  const code = typeof e.code === 'string' ? e.code : typeof inner.code === 'string' ? inner.code : undefined;
  const where = typeof inner.address === 'string' ? `${inner.address}${typeof inner.port === 'number' ? `:${inner.port}` : ''}` : 'the server';
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot connect to ${where}: connection refused — is PostgreSQL running, and are the host and port in the URL right?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host ${typeof inner.hostname === 'string' ? inner.hostname : ''} — check the host name in the URL`;
    case 'ETIMEDOUT':
      return `connecting to ${where} timed out — check the host, port and firewall`;
    case '28P01':
      return `authentication failed (${message}) — check the user name and password in the URL`;
    case '28000':
      return `the server rejected the connection (${message}) — check the user name and pg_hba.conf`;
    case '3D000':
      return `${message} — check the database name in the URL`;
    case '42501':
      return `permission denied (${message}) — connect as a role that can read the catalog and statistics views (e.g. a member of pg_read_all_stats)`;
    default:
      if (/timeout/i.test(message)) return `connecting timed out (${message}) — check the host, port and firewall`;
      return message;
  }
}
