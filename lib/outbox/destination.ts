// Where a webhook may go. A URL is refused unless it is http(s) without credentials, and, unless
// TVDB_WEBHOOK_ALLOW_PRIVATE is set, unless every address its host resolves to is public unicast
// (ipaddr.js's ranges: loopback, private, link-local, unique-local, CGNAT, multicast, reserved, ...
// are all refused). An IPv6 address that carries an IPv4 address is judged by what it reaches:
// IPv4-mapped (::ffff:a.b.c.d), SIIT (::ffff:0:a.b.c.d) and NAT64 (64:ff9b::/96) by the IPv4
// address inside; IPv4-compatible (::a.b.c.d, deprecated), local-use NAT64 (64:ff9b:1::/48), 6to4
// (2002::/16) and Teredo (2001::/32) are refused outright. The lookup runs under a deadline, and a
// refusal names the host the caller gave, never what a name resolved to (a token holder must not
// learn internal addresses). The caller connects to the address checked here (postWebhook pins it),
// so a DNS answer that changes between check and connect (rebinding) cannot redirect the request.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type ResolvedAddress = { address: string; family: number };
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;
export const systemResolver: Resolver = (host) => lookup(host, { all: true, verbatim: true });

export type Destination = { url: URL; address: string; family: 4 | 6 };

/** Why a destination was refused: a bad URL, a host that does not resolve, or a forbidden address. */
export class DestinationError extends Error {
  override name = 'DestinationError';
  readonly kind: 'invalid' | 'unresolvable' | 'blocked';
  constructor(kind: DestinationError['kind'], message: string) {
    super(message);
    this.kind = kind;
  }
}

export function parseWebhookUrl(text: string): URL {
  if (text.length > 2048) throw new DestinationError('invalid', 'longer than 2048 characters');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DestinationError('invalid', 'not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DestinationError('invalid', 'use http or https');
  if (url.username || url.password) throw new DestinationError('invalid', 'credentials in the URL are not accepted');
  return url;
}

const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');
const NAT64_LOCAL = ipaddr.parseCIDR('64:ff9b:1::/48');

/**
 * The address's range as ipaddr.js names it; 'unicast' (and only it) is public. IPv6 forms that
 * carry an IPv4 address are named by the IPv4 address they reach, or refused ('ipv4Compatible',
 * 'rfc6052' local use, '6to4', 'teredo').
 */
export function addressRange(address: string): string {
  if (isIP(address) !== 6) return ipaddr.IPv4.parse(address).range();
  // Canonical form first: ipaddr.js reads '::a.b.c.d' (IPv4-compatible) as IPv4-mapped.
  const v6 = ipaddr.IPv6.parse(new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.slice(1, -1));
  const range = v6.range();
  const parts = v6.parts;
  const embedded = () => ipaddr.fromByteArray(v6.toByteArray().slice(12)) as ipaddr.IPv4;
  if (range === 'ipv4Mapped' || range === 'rfc6145') return embedded().range();
  if (range === 'rfc6052') return v6.match(NAT64_LOCAL) ? 'rfc6052' : embedded().range();
  if (range === 'unspecified' || range === 'loopback') return range;
  if (v6.match(IPV4_COMPATIBLE)) return 'ipv4Compatible';
  if (parts[0] === 0x2002) return '6to4';
  return range;
}

export type DestinationOptions = {
  allowPrivate: boolean;
  resolve?: Resolver;
  /** The lookup's deadline (a delivery passes what is left of its own). */
  lookupTimeoutMs?: number;
};

const DEFAULT_LOOKUP_TIMEOUT_MS = 10_000;

export async function resolveDestination(text: string, options: DestinationOptions): Promise<Destination> {
  const url = parseWebhookUrl(text);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const literal = isIP(host) !== 0;
  let addresses: ResolvedAddress[];
  if (literal) addresses = [{ address: host, family: isIP(host) }];
  else {
    const timeoutMs = Math.max(1, options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS);
    let timer: NodeJS.Timeout | undefined;
    try {
      addresses = await Promise.race([
        (options.resolve ?? systemResolver)(host),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(Object.assign(new Error('lookup timed out'), { code: `no answer within ${timeoutMs} ms` })),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      throw new DestinationError(
        'unresolvable',
        `${host} does not resolve (${(error as { code?: string }).code ?? 'lookup failed'})`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
  if (!addresses.length) throw new DestinationError('unresolvable', `${host} has no address`);
  if (!options.allowPrivate) {
    for (const { address } of addresses) {
      let range: string;
      try {
        range = addressRange(address);
      } catch {
        range = 'unparseable';
      }
      if (range !== 'unicast')
        throw new DestinationError(
          'blocked',
          `${literal ? `${host} is a ${range} address` : `${host} resolves to a non-public address`}: ` +
            'loopback, private, link-local, IPv4-compatible, 6to4, Teredo and other non-public addresses are refused (TVDB_WEBHOOK_ALLOW_PRIVATE=true allows them)',
        );
    }
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
