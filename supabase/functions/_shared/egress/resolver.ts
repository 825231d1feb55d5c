/**
 * Hostname → IP addresses, the one seam through which the egress policy asks DNS. `node:dns` is
 * served by Node and by Deno (and the Supabase edge runtime) alike, and its `lookup` reads
 * /etc/hosts as a connect would; tests inject their own resolver instead.
 */
export type Resolver = (hostname: string) => Promise<string[]>;

interface LookupAddress {
  address: string;
}

export function systemResolver(timeoutMs = 5_000): Resolver {
  return async (hostname) => {
    const dns = (await import("node:dns")) as unknown as {
      promises: { lookup(host: string, options: { all: true; verbatim: true }): Promise<LookupAddress[]> };
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no DNS answer for ${hostname} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const answers = await Promise.race([dns.promises.lookup(hostname, { all: true, verbatim: true }), timeout]);
      return answers.map((answer) => answer.address);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** A fixed table, for tests: an unknown name fails as DNS would. */
export function staticResolver(table: Record<string, string[]>): Resolver {
  return (hostname) => {
    const addresses = table[hostname.toLowerCase()];
    return addresses ? Promise.resolve(addresses) : Promise.reject(new Error(`no DNS record for ${hostname}`));
  };
}
