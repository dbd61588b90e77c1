import assert from "node:assert/strict";
import {
  Client,
  type MetaRequest,
  type MetaResults,
  serve,
  type StoreRequest,
  type StoreResults,
} from "../channel/mod.ts";
import { KeyDirectory } from "./key_directory.ts";

/** A directory over in-process fakes of the index and the store that count the index lookups. */
function directory(opts: { failNext?: boolean } = {}) {
  const asked: string[] = [];
  const keys = new Map([["app", { level: "append" as const, sealedSecret: "sealed:app-secret" }]]);
  const meta = new MessageChannel();
  const store = new MessageChannel();
  serve<MetaRequest>(meta.port2, (req) => {
    if (req.type !== "getAccessKey") throw new Error(`unexpected ${req.type}`);
    asked.push(req.accessKey);
    if (opts.failNext) {
      opts.failNext = false;
      throw new Error("index busy");
    }
    const k = keys.get(req.accessKey);
    return {
      result: k
        ? {
          key: {
            accessKey: req.accessKey,
            level: k.level,
            buckets: {},
            bypassGovernance: false,
            allowFrom: [],
            created: 0,
            updated: 0,
            sealedSecret: k.sealedSecret,
          },
        }
        : {},
    };
  }, (e) => ({ area: "internal", kind: "internal", message: String(e) }));
  serve<StoreRequest>(store.port2, (req) => {
    if (req.type !== "openSecret") throw new Error(`unexpected ${req.type}`);
    return { result: { plaintext: req.sealed.replace(/^sealed:/, "") } };
  }, (e) => ({ area: "internal", kind: "internal", message: String(e) }));
  const dir = new KeyDirectory({
    root: { accessKey: "ROOT", secretKey: "root-secret" },
    meta: new Client<MetaRequest, MetaResults>(meta.port1),
    store: new Client<StoreRequest, StoreResults>(store.port1),
  });
  const close = () => [meta.port1, meta.port2, store.port1, store.port2].forEach((p) => p.close());
  return { dir, asked, keys, close };
}

Deno.test("KeyDirectory - root is never looked up, managed keys once until invalidated", async () => {
  const { dir, asked, keys, close } = directory();
  try {
    const root = await dir.lookup("ROOT");
    assert.equal(root?.secretKey, "root-secret");
    assert.deepEqual([root?.principal.level, root?.principal.bypassGovernance], ["owner", true]);
    assert.ok(dir.isRoot("ROOT") && !dir.isRoot("app"));
    const app = await dir.lookup("app");
    assert.deepEqual([app?.secretKey, app?.principal.level], ["app-secret", "append"]);
    await dir.lookup("app");
    assert.equal(await dir.lookup("nobody"), undefined);
    await dir.lookup("nobody");
    assert.deepEqual(asked, ["app", "nobody"], "answers, found or not, are cached");
    keys.delete("app");
    dir.invalidate("app");
    assert.equal(await dir.lookup("app"), undefined, "a revoked key is gone at once");
    assert.deepEqual(asked, ["app", "nobody", "app"]);
  } finally {
    close();
  }
});

Deno.test("KeyDirectory - a failed lookup is not remembered", async () => {
  const { dir, asked, close } = directory({ failNext: true });
  try {
    await assert.rejects(dir.lookup("app"), /index busy/);
    assert.equal((await dir.lookup("app"))?.secretKey, "app-secret");
    assert.deepEqual(asked, ["app", "app"]);
  } finally {
    close();
  }
});
