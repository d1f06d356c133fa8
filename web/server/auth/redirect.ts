// Where the web may send a browser after sign-in (Auth.js `callbackUrl`, the sign-in page's
// redirect of a signed-in user): only to its own origin. Pure (no Node built-ins), so pages
// can use it too.
//
// A target is resolved against the base (PUBLIC_URL when set) and refused when
// - it is not a string, is empty or longer than 2048 characters;
// - it contains a backslash or a control character: browsers read `/\evil.example` as
//   `//evil.example` and drop tabs and newlines, so what we check would not be what they open;
// - it is neither absolute (`https://…`) nor an absolute path (`/…`): `evil.example` or `?x`;
// - it resolves to another origin (`//evil.example`, `https://evil.example`,
//   `javascript:…`, `https://our.host@evil.example` has host evil.example), or carries
//   credentials;
// - its resolved path starts with `//` (`/.//evil.example` resolves to the path
//   `//evil.example`, which a browser given it as a relative Location opens off-site).
// A refused target falls back to a fixed path of the site.

const UNSAFE = (s: string) => [...s].some((ch) => ch === '\\' || ch.charCodeAt(0) < 0x20 || (ch.charCodeAt(0) >= 0x7f && ch.charCodeAt(0) <= 0x9f));
const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/i;

/** The target as a URL on base's origin, or null when it is off-site or ambiguous. */
export function resolveSafeRedirect(target: unknown, base: string): URL | null {
  if (typeof target !== 'string' || !target || target.length > 2048 || UNSAFE(target)) return null;
  if (!ABSOLUTE.test(target) && !target.startsWith('/')) return null;
  let baseUrl: URL;
  let url: URL;
  try {
    baseUrl = new URL(base);
    url = new URL(target, baseUrl);
  } catch {
    return null;
  }
  if (url.origin !== baseUrl.origin || url.origin === 'null' || url.username || url.password) return null;
  if (url.pathname.startsWith('//')) return null;
  return url;
}

/** An absolute URL on base's origin for target, or base + fallback (a path such as "/"). */
export function safeRedirectUrl(target: unknown, base: string, fallback = '/'): string {
  const url = resolveSafeRedirect(target, base);
  return url ? url.href : new URL(fallback, base).href;
}

/**
 * A same-site path (`/projects?x#y`) for target, or fallback; for relative Location headers.
 * base is the site's origin: absolute targets must be on it; without it only paths pass.
 */
export function safeRedirectPath(target: unknown, fallback = '/projects', base = 'http://same-site.invalid'): string {
  const url = resolveSafeRedirect(target, base);
  if (!url) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
