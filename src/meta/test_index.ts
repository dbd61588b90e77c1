/**
 * A throwaway index for the unit tests of this area.
 *
 * @module
 */

import type { MetaRequest, MetaResults } from "../channel/mod.ts";
import { auditSigner } from "./audit_seal.ts";
import { MetaService } from "./service.ts";
import { inlineSealer } from "../inline_body.ts";

/** Calls the index as the router would. */
export type IndexCall = <R extends MetaRequest>(r: R) => Promise<MetaResults[R["type"]]>;

/** An open throwaway index. */
export interface TestIndex {
  call: IndexCall;
  /** Path of its SQLite file. */
  path: string;
  /** Closes it and removes its dir. */
  end(): Promise<void>;
}

/** Opens a fresh index in a temp dir. */
export async function openIndex(): Promise<TestIndex> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/index.db`;
  const svc = new MetaService(path, {
    maxClockJumpMs: 86_400_000,
    onClockAlert: () => {},
    auditSigner: auditSigner(new Uint8Array(32)),
    inlineSealer: inlineSealer(new Uint8Array(32)),
    fourEyes: {
      vault: "00000000000000000000000000000000",
      quorum: 0,
      approvers: [],
      ttlMs: 3_600_000,
    },
  });
  return {
    call: async (r) => (await svc.handle(r)).result as never,
    path,
    end: async () => {
      await svc.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Runs `fn` against a fresh index, then closes and removes it.
 *
 * @param fn Gets the call function and the database path.
 */
export async function withIndex(fn: (call: IndexCall, path: string) => Promise<void>) {
  const index = await openIndex();
  try {
    await fn(index.call, index.path);
  } finally {
    await index.end();
  }
}
