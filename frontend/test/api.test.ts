import { describe, expect, it } from "vitest";
import { LatestOnly } from "../src/api";

/** A promise resolved by hand, to order two overlapping loads. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

describe("LatestOnly", () => {
  it("drops the answer of a load that a later load superseded, even when it arrives last", async () => {
    const latest = new LatestOnly();
    const drawn: string[] = [];
    const load = async (answer: Promise<string>) => {
      const current = latest.begin();
      const value = await answer;
      if (current()) drawn.push(value);
    };
    const old = deferred<string>();
    const fresh = deferred<string>();
    const first = load(old.promise); // selection A
    const second = load(fresh.promise); // the user picked B before A answered
    fresh.resolve("B");
    await second;
    old.resolve("A");
    await first;
    expect(drawn).toEqual(["B"]);
  });
  it("keeps the answer of a load nothing superseded", () => {
    const latest = new LatestOnly();
    const a = latest.begin();
    expect(a()).toBe(true);
    const b = latest.begin();
    expect([a(), b()]).toEqual([false, true]);
  });
});
