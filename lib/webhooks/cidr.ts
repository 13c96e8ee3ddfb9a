// Pure: does an address fall in one of a list of CIDR ranges (IPv4 and IPv6, IPv4-mapped IPv6
// addresses treated as IPv4)? Uses node:net's BlockList.
import { BlockList, isIP } from 'node:net';

export function parseCidrList(list: string): BlockList {
  const blocks = new BlockList();
  for (const entry of list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [address, bits] = entry.split('/');
    const family = isIP(address ?? '');
    if (!family) throw new Error(`"${entry}" is not an address or CIDR range`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) blocks.addAddress(address!, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32))
        throw new Error(`"${entry}" has a bad prefix length`);
      blocks.addSubnet(address!, prefix, type);
    }
  }
  return blocks;
}

export function addressAllowed(blocks: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocks.check(mapped[1]!, 'ipv4');
  return blocks.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}
