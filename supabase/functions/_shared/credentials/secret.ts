const REDACTED = "[secret]";

/**
 * A secret value that prints as "[secret]" everywhere — String(), JSON.stringify, console.log and
 * util.inspect in Node, Deno.inspect — so a definition logged by mistake leaks nothing. Only
 * `reveal()` hands the value out, at the one place it goes on the wire.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }

  [Symbol.for("Deno.customInspect")](): string {
    return REDACTED;
  }
}

/** Lowercase hex SHA-256: identifies a secret (e.g. which seed a chain started from) without holding it. */
export async function fingerprint(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
