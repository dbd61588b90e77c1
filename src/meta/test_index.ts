/**
 * A throwaway index for the unit tests of this area.
 *
 * @module
 */

import type { MetaRequest, MetaResults } from "../channel/mod.ts";
import { auditSigner } from "./audit_seal.ts";
import { MetaService } from "./service.ts";

/** Calls the index as the router would. */
export type IndexCall = <R extends MetaRequest>(r: R) => Promise<MetaResults[R["type"]]>;

/**
 * Runs `fn` against a fresh index in a temp dir, then closes and removes it.
 *
 * @param fn Gets the call function and the database path.
 */
export async function withIndex(fn: (call: IndexCall, path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/index.db`;
  const svc = new MetaService(path, {
    maxClockJumpMs: 86_400_000,
    onClockAlert: () => {},
    auditSigner: auditSigner(new Uint8Array(32)),
    fourEyes: { quorum: 0, approvers: [], ttlMs: 3_600_000 },
  });
  try {
    await fn(async (r) => (await svc.handle(r)).result as never, path);
  } finally {
    svc.close();
    await Deno.remove(dir, { recursive: true });
  }
}
