/**
 * Drives a running vault's scrubber through `/admin/scrub`, as an operator does.
 *
 * @module
 */
import type { ScrubPass, ScrubStatus } from "../../src/channel/mod.ts";
import { s3For } from "./s3_client.ts";
import type { TestVault } from "./vault.ts";
import { assertEquals, assertOk, signedFetch } from "./assert_s3.ts";

/** `GET /admin/scrub`, or `POST` with `{"action": action}`; asserts a 200 and returns the status. */
export async function adminScrub(v: TestVault, action?: string): Promise<ScrubStatus> {
  const s3 = s3For(v);
  try {
    const res = await signedFetch(v, s3, {
      method: action ? "POST" : "GET",
      path: "/admin/scrub",
      body: action ? JSON.stringify({ action }) : undefined,
    });
    const body = await res.json();
    assertEquals(res.status, 200, JSON.stringify(body));
    return body as ScrubStatus;
  } finally {
    s3.destroy();
  }
}

/** Starts a pass through `/admin/scrub` and waits for it to finish. */
export async function scrubViaAdmin(v: TestVault): Promise<ScrubPass> {
  const asked = Date.now();
  let s = await adminScrub(v, "start");
  const deadline = Date.now() + 60_000;
  while (s.state !== "idle" && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    s = await adminScrub(v);
  }
  assertEquals(s.state, "idle", "the pass finishes within 60 s");
  assertOk((s.lastPass?.finishedAt ?? 0) >= asked, "a pass finished after the request");
  return s.lastPass!;
}
