import { z } from "zod";
import { chicagoTime } from "../../candles/cme-calendar.ts";
import type { Egress } from "../../egress/fetch.ts";
import { fetchJson } from "../http.ts";

/**
 * Contract months. An instrument names a product (NQ) and follows its front month, or names a
 * contract (NQH7) and stays on it. CME's equity-index futures (ES, MES, NQ, MNQ) are quarterly
 * (H M U Z) and expire on the third Friday of the month; the market rolls eight days before, on the
 * second Thursday, which is when peakwatch moves to the next month (at that trade date's 17:00 CT
 * open, the evening before). The month the rule picks is confirmed with `contract/find`; a product
 * the rule does not know, or a month Tradovate does not list, is asked of `contract/suggest`.
 */
export const QUARTERLY_PRODUCTS = ["ES", "MES", "NQ", "MNQ"] as const;
const MONTH_CODES = "FGHJKMNQUVXZ";
const QUARTER_MONTHS = [3, 6, 9, 12];
export const CONTRACT_SYMBOL = /^([A-Z0-9]{1,4}?)([FGHJKMNQUVXZ])(\d{1,2})$/;

export interface ContractMonth {
  product: string;
  /** Tradovate's symbol, e.g. NQZ6. */
  contract: string;
  /** When the roll rule moves off this month (null for a configured contract or a suggestion). */
  rollAt: Date | null;
  /** The month after it, by the rule. */
  next: string | null;
  source: "rule" | "suggest" | "configured";
  /** Tradovate's contract id, when `contract/find` or `contract/suggest` gave it. */
  id: number | null;
}

const secondThursday = (year: number, month: number) => {
  const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  return 1 + ((4 - firstWeekday + 7) % 7) + 7;
};
const symbolOf = (product: string, year: number, month: number) => `${product}${MONTH_CODES[month - 1]}${year % 10}`;
const rollOf = (year: number, month: number) => chicagoTime(year, month, secondThursday(year, month) - 1, 17 * 60);

/** The front quarterly month at `now` by the roll rule, and when it rolls. */
export function frontMonth(product: string, now: Date): { contract: string; rollAt: Date; next: string } {
  let year = now.getUTCFullYear();
  let index = QUARTER_MONTHS.findIndex((month) => month >= now.getUTCMonth() + 1);
  if (index < 0) [year, index] = [year + 1, 0];
  for (;;) {
    const month = QUARTER_MONTHS[index]!;
    const rollAt = rollOf(year, month);
    const [nextYear, nextIndex] = index === 3 ? [year + 1, 0] : [year, index + 1];
    if (now.getTime() < rollAt.getTime()) return { contract: symbolOf(product, year, month), rollAt, next: symbolOf(product, nextYear, QUARTER_MONTHS[nextIndex]!) };
    [year, index] = [nextYear, nextIndex];
  }
}

const contractItem = z.looseObject({ id: z.number().int(), name: z.string().min(1) });

export interface ContractLookup {
  restBaseUrl: string;
  accessToken: () => Promise<string>;
  egress: Egress;
  allowedHosts: readonly string[];
  signal: AbortSignal;
}

async function get(lookup: ContractLookup, path: string): Promise<unknown> {
  const { body } = await fetchJson(`${lookup.restBaseUrl}${path}`, {
    egress: lookup.egress,
    signal: lookup.signal,
    headers: { Authorization: `Bearer ${await lookup.accessToken()}` },
    egressRequest: { kind: "provider", carriesSecret: true, secretHosts: lookup.allowedHosts, secretName: "the Tradovate access token" },
  });
  return body;
}

/** Resolves a product or contract symbol to the contract month to chart. */
export async function resolveContract(symbol: string, now: Date, lookup: ContractLookup): Promise<ContractMonth> {
  if (CONTRACT_SYMBOL.test(symbol) && !(QUARTERLY_PRODUCTS as readonly string[]).includes(symbol)) {
    return { product: symbol.replace(CONTRACT_SYMBOL, "$1"), contract: symbol, rollAt: null, next: null, source: "configured", id: null };
  }
  if ((QUARTERLY_PRODUCTS as readonly string[]).includes(symbol)) {
    const front = frontMonth(symbol, now);
    const found = contractItem.nullable().safeParse(await get(lookup, `/contract/find?name=${encodeURIComponent(front.contract)}`));
    if (found.success && found.data) return { product: symbol, contract: found.data.name, rollAt: front.rollAt, next: front.next, source: "rule", id: found.data.id };
  }
  const suggested = z.array(z.unknown()).safeParse(await get(lookup, `/contract/suggest?t=${encodeURIComponent(symbol)}&l=5`));
  const first = suggested.success ? suggested.data.map((item) => contractItem.safeParse(item)).find((item) => item.success && item.data.name.startsWith(symbol)) : undefined;
  if (!first?.success) throw new Error(`no Tradovate contract found for ${symbol}`);
  return { product: symbol, contract: first.data.name, rollAt: null, next: null, source: "suggest", id: first.data.id };
}
