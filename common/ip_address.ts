/**
 * IP address literals and CIDR blocks: parsing, formatting and matching. Pure.
 * @module
 */

/** An IP address as its network-order bytes (4 for IPv4, 16 for IPv6). */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/** A CIDR block: the first `prefixBits` bits of `address` are fixed. */
export interface Cidr {
  readonly address: IpAddress;
  readonly prefixBits: number;
  /** The block as written after normalisation, e.g. "10.0.0.0/8". */
  readonly text: string;
}

/**
 * Parses an IPv4 (dotted quad) or IPv6 literal (brackets allowed, `::` compression, no zone);
 * undefined when `text` is neither.
 * @example parseIpAddress("10.0.0.1")?.family // 4
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4 !== null) {
    const octets = v4.slice(1).map(Number);
    if (octets.some((o) => o > 255)) return undefined;
    return { family: 4, bytes: Uint8Array.from(octets) };
  }
  const bytes = parseIpv6(text);
  return bytes === undefined ? undefined : { family: 6, bytes };
}

function parseIpv6(text: string): Uint8Array | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (!/^[0-9a-fA-F:]+$/.test(bare) || !bare.includes(":")) return undefined;
  const halves = bare.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  const bytes = new Uint8Array(16);
  for (const [i, group] of all.entries()) {
    if (group.length === 0 || group.length > 4) return undefined;
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  }
  return bytes;
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it carries. */
export function unmapIpv4(address: IpAddress): IpAddress {
  const b = address.bytes;
  if (address.family !== 6 || !b.subarray(0, 10).every((x) => x === 0)) return address;
  if (b[10] !== 0xff || b[11] !== 0xff) return address;
  return { family: 4, bytes: b.slice(12) };
}

/** Formats an address: dotted quad, or IPv6 with the longest run of zero groups compressed. */
export function formatIpAddress(address: IpAddress): string {
  if (address.family === 4) return [...address.bytes].join(".");
  const groups = Array.from({ length: 8 }, (_, i) => {
    return ((address.bytes[i * 2] ?? 0) << 8) | (address.bytes[i * 2 + 1] ?? 0);
  });
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(":");
  const head = hex.slice(0, best.at).join(":");
  const tail = hex.slice(best.at + best.length).join(":");
  return `${head}::${tail}`;
}

/**
 * Parses a CIDR block ("10.0.0.0/8", "fd00::/64"); a bare address is a single host (/32 or
 * /128). Bits after the prefix must be zero.
 * @throws {RangeError} naming the block and what is wrong with it.
 */
export function parseCidr(text: string): Cidr {
  const [addressText = "", prefixText, ...rest] = text.trim().split("/");
  const address = parseIpAddress(addressText);
  const accepted = "an IPv4 or IPv6 block such as 10.0.0.0/24 or fd00::/64, or a single address";
  if (address === undefined || rest.length > 0) {
    throw new RangeError(`"${text}" is not a CIDR block (expected ${accepted})`);
  }
  const maxBits = address.bytes.length * 8;
  let prefixBits = maxBits;
  if (prefixText !== undefined) {
    prefixBits = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!(prefixBits >= 0 && prefixBits <= maxBits)) {
      throw new RangeError(
        `"${text}": the prefix length must be 0 to ${maxBits} for IPv${address.family}`,
      );
    }
  }
  const network = masked(address, prefixBits);
  if (!sameBytes(network.bytes, address.bytes)) {
    throw new RangeError(
      `"${text}": bits after the /${prefixBits} prefix are set (did you mean ${
        formatIpAddress(network)
      }/${prefixBits}?)`,
    );
  }
  return { address, prefixBits, text: `${formatIpAddress(address)}/${prefixBits}` };
}

function masked(address: IpAddress, prefixBits: number): IpAddress {
  const bytes = address.bytes.map((byte, i) => {
    const keep = Math.max(0, Math.min(8, prefixBits - i * 8));
    return byte & (0xff << (8 - keep));
  });
  return { family: address.family, bytes };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** True when `address` lies in `block` (an IPv4-mapped IPv6 address matches IPv4 blocks). */
export function cidrContains(block: Cidr, address: IpAddress): boolean {
  const plain = unmapIpv4(address);
  if (plain.family !== block.address.family) return false;
  return sameBytes(masked(plain, block.prefixBits).bytes, block.address.bytes);
}

/** The first block of `blocks` that contains `address`, if any. */
export function findCidr(blocks: readonly Cidr[], address: IpAddress): Cidr | undefined {
  return blocks.find((block) => cidrContains(block, address));
}
