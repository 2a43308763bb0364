// The limiter key for a client's network address (Node). One IPv4 address is one key, but an IPv6
// host is usually given a whole /64 (RFC 4291 §2.5.4, RFC 6177), so per-address keys would hand one
// host 2^64 buckets: IPv6 is keyed by its /64. Different spellings of one prefix give one key.
import { isIPv4, isIPv6 } from "node:net";

/** Every address that cannot be parsed shares this key (socket.io gives undefined for a gone socket). */
export const UNKNOWN_CLIENT = "unknown";

export function clientKeyOf(remoteAddress: string | undefined): string {
  if (!remoteAddress) return UNKNOWN_CLIENT;
  if (isIPv4(remoteAddress)) return remoteAddress;
  if (!isIPv6(remoteAddress)) return UNKNOWN_CLIENT;
  // A zone id (`fe80::1%eth0`) names the local interface, not the peer.
  const g = ipv6Groups(remoteAddress.split("%")[0]);
  if (!g) return UNKNOWN_CLIENT;
  // IPv4-mapped (::ffff:a.b.c.d, also spelled ::ffff:0102:0304): a dual-stack socket's IPv4 peer.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return [g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff].join(".");
  }
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(":")}::/64`;
}

/** The eight 16-bit groups of an address that `isIPv6` accepted (no zone), or null. */
function ipv6Groups(address: string): number[] | null {
  let head = address;
  const tail: number[] = [];
  const lastColon = address.lastIndexOf(":");
  const last = address.slice(lastColon + 1);
  if (last.includes(".")) {
    // An embedded IPv4 address fills the last two groups.
    const [a, b, c, d] = last.split(".").map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
    head = address.slice(0, lastColon + 1);
    if (!head.endsWith("::")) head = head.slice(0, -1);
  }
  const halves = head.split("::");
  const groups = (part: string | undefined) => (part ? part.split(":").map((h) => parseInt(h, 16)) : []);
  const left = groups(halves[0]);
  const right = groups(halves[1]);
  const zeros = halves.length === 2 ? 8 - tail.length - left.length - right.length : 0;
  const all = [...left, ...new Array<number>(Math.max(0, zeros)).fill(0), ...right, ...tail];
  return all.length === 8 && all.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff) ? all : null;
}
