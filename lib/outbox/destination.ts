// Where a webhook may go. A URL is refused unless it is http(s) without credentials, and, unless
// TVDB_WEBHOOK_ALLOW_PRIVATE is set, unless every address its host resolves to is public unicast
// (ipaddr.js's ranges: loopback, private, link-local, unique-local, CGNAT, multicast, reserved,
// IPv4-mapped and NAT64 forms of those, ... are all refused). The caller connects to the address
// checked here (postWebhook pins it), so a DNS answer that changes between check and connect
// (rebinding) cannot redirect the request.
import { lookup } from 'node:dns/promises';
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
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DestinationError('invalid', 'not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DestinationError('invalid', 'use http or https');
  if (url.username || url.password) throw new DestinationError('invalid', 'credentials in the URL are not accepted');
  if (text.length > 2048) throw new DestinationError('invalid', 'longer than 2048 characters');
  return url;
}

/** The address's range as ipaddr.js names it ('unicast' is public). */
export function addressRange(address: string): string {
  return ipaddr.process(address).range();
}

export async function resolveDestination(
  text: string,
  options: { allowPrivate: boolean; resolve?: Resolver },
): Promise<Destination> {
  const url = parseWebhookUrl(text);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: ResolvedAddress[];
  try {
    addresses = await (options.resolve ?? systemResolver)(host);
  } catch (error) {
    throw new DestinationError(
      'unresolvable',
      `${host} does not resolve (${(error as { code?: string }).code ?? error})`,
    );
  }
  if (!addresses.length) throw new DestinationError('unresolvable', `${host} has no address`);
  if (!options.allowPrivate) {
    for (const { address } of addresses) {
      const range = addressRange(address);
      if (range !== 'unicast')
        throw new DestinationError(
          'blocked',
          `${host} resolves to ${address} (${range}): loopback, private, link-local and other non-public addresses are refused (TVDB_WEBHOOK_ALLOW_PRIVATE=true allows them)`,
        );
    }
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
