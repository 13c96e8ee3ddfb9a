// Pure: which Host headers name this server, and whether a browser request comes from its own
// origin. DNS rebinding points an attacker's name at 127.0.0.1, so a page of theirs becomes
// "same origin" with the server; the Host header still carries their name, and is refused. An IP
// address in Host cannot be rebound (its origin is that address), so addresses are always accepted:
// that keeps port forwarding, containers and probes by address working.
import { isIP } from 'node:net';

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** The default names: loopback, the listening address (when it is a name or an address), PUBLIC_BASE_URL's host. */
export function defaultAllowedHosts(host: string, publicBaseUrl: string | undefined): string[] {
  const names = ['localhost', '127.0.0.1', '::1'];
  if (!WILDCARDS.has(host)) names.push(host);
  if (publicBaseUrl) names.push(new URL(publicBaseUrl).hostname);
  return names.map(normalise);
}

const normalise = (name: string) =>
  name
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');

/** The host name of a Host header ("example.com:8080", "[::1]:8080"), or null when malformed. */
export function hostName(header: string): string | null {
  const parsed = URL.parse(`http://${header}/`);
  if (!parsed || parsed.username || parsed.password || parsed.pathname !== '/' || header.includes('/')) return null;
  return normalise(parsed.hostname);
}

export function hostAllowed(header: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (!header) return false;
  const name = hostName(header);
  if (name === null) return false;
  return isIP(name) !== 0 || allowed.has(name);
}

/**
 * Whether a request's Origin (sent by browsers on cross-origin requests and on every POST) is
 * this server as the Host header names it. No Origin (curl, LlamaParse, a same-origin GET) passes.
 */
export function crossOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return false;
  const from = URL.parse(origin);
  const to = host ? URL.parse(`http://${host}/`) : null;
  return !from || !to || from.host !== to.host;
}
