/**
 * Shared pieces of the property/fuzz tests: what a target is, the
 * arbitraries every parser is fed, and the one rule they all check (nothing
 * escapes but a BurrowError).
 *
 * A target is a fast-check property plus a weight: `cost` scales the short
 * pass in `npm test` down where one input needs real sockets, so it stays a
 * few seconds; the long pass (`npm run fuzz`) gives every target the same
 * count.
 */
import fc from 'fast-check';
import { BurrowError } from '../../src/util/errors.js';

export interface FuzzTarget {
  /** `area/parser: property`, unique; FUZZ_ONLY matches against it */
  name: string;
  /** 1 for pure parsers; larger for a target whose inputs each cost a socket round trip */
  cost?: number;
  property: () => fc.IProperty<never> | fc.IAsyncProperty<never>;
}

/** Declares a target without losing the property's argument types. */
export function target<Ts extends [unknown, ...unknown[]]>(name: string, property: () => fc.IProperty<Ts> | fc.IAsyncProperty<Ts>, cost = 1): FuzzTarget {
  return { name, cost, property: property as unknown as FuzzTarget['property'] };
}

export interface FuzzRun {
  seed: number;
  runs: number;
  /** divide `runs` by the target's cost (the short pass) */
  byCost?: boolean;
}

/** Runs one target and throws fast-check's report (seed, path, counterexample) on failure. */
export async function runTarget(t: FuzzTarget, run: FuzzRun): Promise<number> {
  const numRuns = Math.max(1, Math.floor(run.byCost ? run.runs / (t.cost ?? 1) : run.runs));
  const details = await fc.check(t.property(), { seed: run.seed, numRuns, endOnFailure: false });
  if (details.failed) {
    throw new Error(
      `${t.name}: ${fc.defaultReportMessage(details) ?? 'failed'}\n${String(details.errorInstance)}\nreplay: FUZZ_SEED=${details.seed} FUZZ_ONLY='${t.name}'`,
    );
  }
  return details.numRuns;
}

/** The one error type a parser may throw on garbage; anything else is a bug. */
export function onlyBurrowErrors<T>(fn: () => T): T | BurrowError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BurrowError) return err;
    throw err;
  }
}

export async function onlyBurrowErrorsAsync<T>(fn: () => Promise<T>): Promise<T | BurrowError> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BurrowError) return err;
    throw err;
  }
}

export const bytes = (maxLength = 512): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

/** Cut points for `data`: the same bytes as 1..n pieces, including empty ones. */
export function chunked(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    pieces.push(data.subarray(at, p));
    at = p;
  }
  pieces.push(data.subarray(at));
  return pieces;
}

export const cuts = (): fc.Arbitrary<number[]> => fc.array(fc.nat(), { maxLength: 12 });

/** Text with the characters parsers care about over-represented. */
export function textWith(specials: string[], maxLength = 200): fc.Arbitrary<string> {
  const piece = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...specials) },
    { weight: 2, arbitrary: fc.string({ maxLength: 8 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
  );
  return fc.array(piece, { maxLength: Math.ceil(maxLength / 4) }).map((parts) => parts.join('').slice(0, maxLength));
}

/** Mutates a valid input: flips, inserts, deletes and overwrites a few bytes. */
export function mutated(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  const edit = fc.record({ at: fc.nat(), op: fc.constantFrom('flip', 'insert', 'delete', 'set'), byte: fc.integer({ min: 0, max: 255 }) });
  return fc.tuple(valid, fc.array(edit, { maxLength: 4 })).map(([buf, edits]) => {
    let out = Buffer.from(buf);
    for (const e of edits) {
      const at = out.length === 0 ? 0 : e.at % out.length;
      if (e.op === 'flip' && out.length > 0) out[at] ^= 1 << (e.byte % 8);
      else if (e.op === 'set' && out.length > 0) out[at] = e.byte;
      else if (e.op === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.from([e.byte]), out.subarray(at)]);
      else if (e.op === 'delete' && out.length > 0) out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
    }
    return out;
  });
}
