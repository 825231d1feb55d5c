/**
 * What kind of network an IP address belongs to. Anything but "public" is refused as a feed target
 * unless allowed explicitly: loopback and private ranges reach this host's and the cloud's own
 * services, link-local holds the metadata endpoint (169.254.169.254), unspecified means "this host".
 */
export type AddressClass = "public" | "loopback" | "private" | "link-local" | "unspecified" | "reserved";

/**
 * An IPv4 address in any form `inet_aton` takes — dotted decimal, a single 32-bit number
 * (2130706433), octal (0177.0.0.1), hex (0x7f.1) and the short forms (127.1) — as four bytes.
 * WHATWG URL parsing already rewrites these to dotted decimal; this catches them anywhere else.
 */
export function parseIPv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length > 4 || parts.some((part) => part === "")) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    const match = /^(0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)$/i.exec(part);
    if (!match) return null;
    const value = /^0x/i.test(part) ? (part.length === 2 ? 0 : parseInt(part.slice(2), 16)) : part.length > 1 && part.startsWith("0") ? parseInt(part, 8) : Number(part);
    if (!Number.isSafeInteger(value)) return null;
    numbers.push(value);
  }
  const last = numbers.pop()!;
  if (numbers.some((n) => n > 255) || last >= 256 ** (4 - numbers.length)) return null;
  const bytes = [...numbers];
  for (let i = 3 - numbers.length; i >= 0; i--) bytes.push(Math.floor(last / 256 ** i) % 256);
  return bytes;
}

/** An IPv6 address (with `::`, an embedded dotted IPv4 tail, an optional zone) as eight 16-bit groups. */
export function parseIPv6(text: string): number[] | null {
  let address = text.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (!address.includes(":")) return null;
  const v4 = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (v4) {
    const bytes = v4[1]!.split(".").map(Number);
    if (bytes.some((b) => b > 255)) return null;
    address = `${address.slice(0, v4.index + 1)}${(bytes[0]! * 256 + bytes[1]!).toString(16)}:${(bytes[2]! * 256 + bytes[3]!).toString(16)}`;
  }
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === "" ? [] : part.split(":").map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : Number.NaN)));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  if ([...left, ...right].some(Number.isNaN)) return null;
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  return [...left, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...right];
}

function classifyIPv4([a, b, c]: number[]): AddressClass {
  if (a === 0) return "unspecified";
  if (a === 127) return "loopback";
  if (a === 169 && b === 254) return "link-local";
  if (a === 10 || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168) || (a === 100 && b! >= 64 && b! <= 127)) return "private";
  if ((a === 192 && b === 0 && (c === 0 || c === 2)) || (a === 198 && (b === 18 || b === 19)) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return "reserved";
  if (a! >= 224) return "reserved";
  return "public";
}

const embeddedIPv4 = (g: number[]) => [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255];

function classifyIPv6(g: number[]): AddressClass {
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) return "unspecified";
  if (zeroUpTo(7) && g[7] === 1) return "loopback";
  // ::ffff:a.b.c.d (IPv4-mapped) and 64:ff9b::a.b.c.d (NAT64) reach the IPv4 address inside.
  if (zeroUpTo(5) && g[5] === 0xffff) return classifyIPv4(embeddedIPv4(g));
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return classifyIPv4(embeddedIPv4(g));
  // ::a.b.c.d (deprecated IPv4-compatible) and 6to4 (2002:aabb:ccdd::) carry one too.
  if (zeroUpTo(6)) return "reserved";
  if (g[0] === 0x2002) return classifyIPv4([g[1]! >> 8, g[1]! & 255, g[2]! >> 8, g[2]! & 255]) === "public" ? "public" : "reserved";
  if ((g[0]! & 0xfe00) === 0xfc00) return "private";
  if ((g[0]! & 0xffc0) === 0xfe80) return "link-local";
  if ((g[0]! & 0xffc0) === 0xfec0) return "private";
  if ((g[0]! & 0xff00) === 0xff00) return "reserved";
  if (g[0] === 0x2001 && g[1] === 0x0db8) return "reserved";
  if (g[0] === 0x0100 && zeroUpTo(4)) return "reserved";
  return "public";
}

/** The class of an IP literal (IPv4 in any form, IPv6 with or without brackets); null for a hostname. */
export function classifyAddress(text: string): AddressClass | null {
  const v6 = parseIPv6(text);
  if (v6) return classifyIPv6(v6);
  const v4 = parseIPv4(text);
  return v4 ? classifyIPv4(v4) : null;
}
