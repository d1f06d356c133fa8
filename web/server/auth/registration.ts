// Who may create an account by signing in for the first time (REGISTRATION):
// - open (default): anyone;
// - closed: nobody; existing accounts keep signing in;
// - allowlist: names in REGISTRATION_ALLOWLIST, comma-separated, each an exact username
//   (compared in the username key form: NFKC, lower case) or a pattern `*@domain` that
//   matches usernames ending in `@domain`.
// The password provider does not verify e-mail addresses: `*@example.com` only restricts
// which names can be claimed, not who claims them. The policy applies to password and GitHub
// sign-ins (GitHub: the login is the name); Sealos identities are vouched for by the
// operator-configured Sealos secret and are not subject to it.
import { usernameKey } from './username';

export type RegistrationMode = 'open' | 'closed' | 'allowlist';

export interface RegistrationPolicy {
  mode: RegistrationMode;
  /** Whether a new account may be created under this name. */
  allows(name: string): boolean;
}

export function registrationPolicy(mode: RegistrationMode, allowlist: string | undefined): RegistrationPolicy {
  const exact = new Set<string>();
  const domains: string[] = [];
  for (const raw of (allowlist ?? '').split(',')) {
    const entry = usernameKey(raw);
    if (!entry) continue;
    if (entry.startsWith('*@') && entry.length > 2 && !entry.slice(2).includes('@')) domains.push(entry.slice(1));
    else exact.add(entry);
  }
  return {
    mode,
    allows(name) {
      if (mode === 'open') return true;
      if (mode === 'closed') return false;
      const key = usernameKey(name);
      if (exact.has(key)) return true;
      // "@example.com" must be the whole domain part: one "@" and something before it.
      const at = key.indexOf('@');
      return at > 0 && at === key.lastIndexOf('@') && domains.includes(key.slice(at));
    },
  };
}
