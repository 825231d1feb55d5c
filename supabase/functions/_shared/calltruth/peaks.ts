import type { Bar } from "../candles/provider.ts";
import { type Timeframe, timeframeMs } from "../candles/timeframes.ts";

/** Bars of one timeframe with bucket in [from, to), oldest first. Missing buckets are allowed. */
export type BarSource = (timeframe: Timeframe, from: Date, to: Date) => Promise<Bar[]>;

export interface Peak {
  priceUsd: number;
  /** Start of the bar the peak was found in. */
  at: Date;
  /** The bar size the figure rests on. */
  resolution: Timeframe;
}

export interface Peaks {
  /** The highest high: a price someone traded at, maybe once. */
  wick: Peak;
  /** The highest max(open, close): a price that held long enough to sell at. */
  tradeable: Peak;
  /** Bar reads spent (each one a provider request unless the store had the bars). */
  reads: number;
}

interface Node {
  bar: Bar;
  tier: number;
}

/**
 * The wick and tradeable highs of [from, to), found coarse to fine (for example days, then hours,
 * then minutes) without reading the whole window at the finest size.
 *
 * A coarse bar's high bounds every finer bar inside it, and its max(open, close) is itself a finer
 * bar's open or close, so it is an achievable tradeable price. So only bars whose high beats the
 * best tradeable price found so far are opened up; the rest cannot hold the answer. Bars that stick
 * out of the window (the day a call was made in) are always opened, so nothing before `from` counts.
 * `maxReads` caps the spend: when it runs out, the answer names the coarser size it rests on.
 */
export async function findPeaks(source: BarSource, tiers: Timeframe[], from: Date, to: Date, maxReads = Infinity): Promise<Peaks | null> {
  if (tiers.length === 0) throw new RangeError("findPeaks needs at least one timeframe");
  let reads = 0;
  const finest = tiers.length - 1;

  const read = async (tier: number, start: Date, end: Date): Promise<Node[]> => {
    reads += 1;
    const timeframe = tiers[tier] as Timeframe;
    const size = timeframeMs(timeframe);
    const alignedStart = new Date(Math.floor(start.getTime() / size) * size);
    const bars = await source(timeframe, alignedStart, end);
    return bars.map((bar) => ({ bar, tier }));
  };
  const inside = (node: Node, start: Date, end: Date): boolean =>
    node.bar.bucket.getTime() >= start.getTime() && node.bar.bucket.getTime() + timeframeMs(tiers[node.tier] as Timeframe) <= end.getTime();
  const span = (node: Node): [Date, Date] => [node.bar.bucket, new Date(node.bar.bucket.getTime() + timeframeMs(tiers[node.tier] as Timeframe))];

  // Cover the window: whole bars at the coarsest size, edges cut down until they fit.
  const nodes: Node[] = [];
  const edges: Array<{ tier: number; start: Date; end: Date }> = [{ tier: 0, start: from, end: to }];
  while (edges.length > 0) {
    const edge = edges.pop()!;
    for (const node of await read(edge.tier, edge.start, edge.end)) {
      if (inside(node, edge.start, edge.end)) nodes.push(node);
      else if (node.tier < finest) {
        const [barStart, barEnd] = span(node);
        const start = barStart < edge.start ? edge.start : barStart;
        const end = barEnd > edge.end ? edge.end : barEnd;
        if (start < end) edges.push({ tier: node.tier + 1, start, end });
      }
    }
  }
  if (nodes.length === 0) return null;

  const tradeableOf = (node: Node) => Math.max(node.bar.open, node.bar.close);
  const best = (pick: (node: Node) => number) => nodes.reduce((a, b) => (pick(b) > pick(a) ? b : a));
  const unrefinable = new Set<Node>();
  const refine = async (node: Node): Promise<boolean> => {
    if (node.tier >= finest || reads >= maxReads || unrefinable.has(node)) return false;
    const [start, end] = span(node);
    const children = (await read(node.tier + 1, start, end)).filter((child) => inside(child, start, end));
    if (children.length === 0) {
      unrefinable.add(node);
      return false;
    }
    nodes.splice(nodes.indexOf(node), 1, ...children);
    return true;
  };

  // Tradeable: open up any coarse bar that could still hold a higher max(open, close).
  for (;;) {
    const holder = best(tradeableOf);
    const floor = tradeableOf(holder);
    const open = nodes
      .filter((node) => node.tier < finest && (node.bar.high > floor || node === holder))
      .sort((a, b) => b.bar.high - a.bar.high);
    let refined = false;
    for (const node of open) {
      if (node.bar.high < floor) break;
      if (await refine(node)) {
        refined = true;
        break;
      }
    }
    if (!refined) break;
  }
  const tradeableNode = best(tradeableOf);

  // Wick: the highest high is already exact; open its bar only to time it.
  let wickNode = best((node) => node.bar.high);
  while (wickNode.tier < finest && (await refine(wickNode))) wickNode = best((node) => node.bar.high);

  const peak = (node: Node, price: number): Peak => ({ priceUsd: price, at: node.bar.bucket, resolution: tiers[node.tier] as Timeframe });
  return { wick: peak(wickNode, wickNode.bar.high), tradeable: peak(tradeableNode, tradeableOf(tradeableNode)), reads };
}
