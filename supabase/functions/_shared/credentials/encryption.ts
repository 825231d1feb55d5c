import { readEnv } from "../config/env.ts";
import { CredentialError } from "./errors.ts";

/**
 * Rotated refresh tokens are stored sealed with AES-256-GCM (WebCrypto, the same in Deno and Node):
 * `pwenc:v1:<iv>:<ciphertext>`, base64, with the credential's name as additional data so a sealed
 * token copied to another credential's row does not open. The key comes from the environment
 * (PEAKWATCH_ENCRYPTION_KEY, 32 bytes in base64), never from the database it protects.
 */
export interface TokenCipher {
  seal(credential: string, token: string): Promise<string>;
  /** A value without the prefix is a token stored before encryption: handed back as it is. */
  open(credential: string, stored: string): Promise<string>;
}

const PREFIX = "pwenc:v1:";
export const ENCRYPTION_KEY_VARIABLE = "PEAKWATCH_ENCRYPTION_KEY";

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

// A copy in a plain ArrayBuffer: what WebCrypto takes under every TypeScript the code meets (the
// hosted Deno 2.1's TS 5.6 has no generic Uint8Array; Node's TS 5.9 wants an ArrayBuffer-backed one).
const toArrayBuffer = (bytes: Uint8Array): ArrayBuffer => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

export async function aesGcmCipher(keyBytes: Uint8Array): Promise<TokenCipher> {
  if (keyBytes.byteLength !== 32) throw new Error(`${ENCRYPTION_KEY_VARIABLE} must be 32 bytes (base64), got ${keyBytes.byteLength}`);
  const key = await crypto.subtle.importKey("raw", toArrayBuffer(keyBytes), "AES-GCM", false, ["encrypt", "decrypt"]);
  const additional = (credential: string) => new TextEncoder().encode(`peakwatch.refresh_token:${credential}`);
  return {
    async seal(credential, token) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: additional(credential) }, key, new TextEncoder().encode(token));
      return `${PREFIX}${toBase64(iv)}:${toBase64(new Uint8Array(sealed))}`;
    },
    async open(credential, stored) {
      if (!stored.startsWith(PREFIX)) return stored;
      const [iv, sealed] = stored.slice(PREFIX.length).split(":");
      try {
        const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(iv!), additionalData: additional(credential) }, key, fromBase64(sealed!));
        return new TextDecoder().decode(plain);
      } catch {
        throw new CredentialError(credential, `credential "${credential}": the stored refresh token does not open with ${ENCRYPTION_KEY_VARIABLE} (another key, or another credential's row); set a new seed to re-seed it`);
      }
    },
  };
}

// Local dev only (PEAKWATCH_LOCAL_DEV): a fixed, public key, so `npm start` and the tests need no setup.
const LOCAL_DEV_KEY = new TextEncoder().encode("peakwatch-local-dev-only-key-32b");

/** The cipher the environment configures; without a key (outside local dev) every use fails, naming the variable. */
export async function cipherFromEnv(read: (name: string) => string | undefined = readEnv): Promise<TokenCipher> {
  const configured = read(ENCRYPTION_KEY_VARIABLE)?.trim();
  if (configured) {
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(configured);
    } catch {
      throw new CredentialError("*", `${ENCRYPTION_KEY_VARIABLE} is not base64`);
    }
    return await aesGcmCipher(bytes);
  }
  if (["1", "true"].includes(read("PEAKWATCH_LOCAL_DEV") ?? "")) return await aesGcmCipher(LOCAL_DEV_KEY);
  throw new CredentialError("*", `${ENCRYPTION_KEY_VARIABLE} is not set: rotated refresh tokens are stored encrypted with it (32 random bytes, base64)`);
}
