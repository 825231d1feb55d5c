import fc from "fast-check";

/**
 * Seeded property runs. `npm test` runs each boundary PEAKWATCH_FUZZ_RUNS times (200 by default);
 * `npm run fuzz` sets it to 10,000 or more. A failure prints its seed and path: rerun with
 * PEAKWATCH_FUZZ_SEED=<seed> to reproduce it.
 */
export const FUZZ_RUNS = Number(process.env.PEAKWATCH_FUZZ_RUNS ?? "200");
export const FUZZ_SEED = Number(process.env.PEAKWATCH_FUZZ_SEED ?? "20261202");

/** One boundary's fast-check parameters; `salt` gives each boundary its own sequence from the one seed. */
export const fuzzed = (salt: number) => ({ seed: FUZZ_SEED + salt, numRuns: FUZZ_RUNS });

/** A test's time limit for `msPerCase` at the configured run count. */
export const fuzzTimeout = (msPerCase: number) => 60_000 + FUZZ_RUNS * msPerCase;

/** Text an attacker would send: any code point, plus the characters that break parsers and SQL. */
export const hostileString = (options: { maxLength?: number; storable?: boolean } = {}) => {
  const pieces = ["'", '"', "\\", "%", "_", "${x}", "\n", "\r", "\t", " ", "$", "0x", "<b>", "&amp;", "@everyone", "💥", "e\u0301", "\u200b", "\ufeff"];
  // NUL and lone surrogates are refused by Postgres text and jsonb: sanitizing items of them is
  // issue 11's (market truth). SQL write paths are fuzzed without them until that lands.
  if (!options.storable) pieces.push("\u0000", "\ud800", "\udfff");
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: options.maxLength ?? 40 }) },
    { weight: 2, arbitrary: fc.array(fc.constantFrom(...pieces), { maxLength: 6 }).map((parts) => parts.join("")) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: options.maxLength ?? 40 }) },
  ).filter((text) => !options.storable || !UNSTORABLE.test(text));
};

/** NUL, or half of a surrogate pair standing alone. */
export const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Any JSON number a wire could carry, awkward ones included. */
export const wireNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(0, -0, 1e308, 5e-324, 9_007_199_254_740_993, -1),
);

/** A value of any JSON type: what a field of an upstream answer may turn out to be. */
export const anyJson = fc.oneof(
  hostileString(),
  wireNumber,
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
);
