// The backend's routes (greenops_tb/plugin/routes.py), fetched as typed JSON, and a guard against stale answers.

import type { InferenceResponse, RunsResponse, RunSummary, SeriesResponse, WatchedResponse, WhatIfResponse, WhatIfScope } from "./types";

/** GET `path` (relative to the plugin's route prefix) as JSON; a non-2xx answer throws with the backend's `error`. */
export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { Accept: "application/json" } });
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: reported below
  }
  if (!res.ok) {
    const msg = body && typeof body === "object" && "error" in body ? String((body as { error: unknown }).error) : res.statusText;
    throw new Error(`${path.split("?")[0]}: ${res.status} ${msg}`);
  }
  return body as T;
}

const q = (run: string) => encodeURIComponent(run);

export const api = {
  runs: () => getJson<RunsResponse>("runs"),
  summary: (run: string) => getJson<RunSummary>(`summary?run=${q(run)}`),
  series: (run: string, points: number) => getJson<SeriesResponse>(`series?run=${q(run)}&points=${points}`),
  watched: (run: string, points: number) => getJson<WatchedResponse>(`watched?run=${q(run)}&points=${points}`),
  whatif: (run: string, top: number, scope: WhatIfScope) =>
    getJson<WhatIfResponse>(`whatif?run=${q(run)}&top=${top}&scope=${scope}`),
  inference: (runs: string[], requestsPerDay: number) =>
    getJson<InferenceResponse>(`inference?${runs.map((r) => `run=${q(r)}`).join("&")}&requests_per_day=${requestsPerDay}`),
};

/**
 * The latest request wins: `begin()` starts a load and returns a check that is true while no later load has
 * begun. A load for a selection that is no longer current drops its answers instead of drawing them
 * (TensorBoard's example plugin does the same when its run selector changed during a fetch).
 */
export class LatestOnly {
  private generation = 0;

  begin(): () => boolean {
    const mine = ++this.generation;
    return () => mine === this.generation;
  }
}
