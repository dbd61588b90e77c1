import assert from "node:assert/strict";
import { addressOf, type AppDeps, createApp, splitUrl } from "./app.ts";

Deno.test("addressOf - path-style and virtual-hosted addressing", () => {
  const opts = (host: string) => ({ host, domain: "s3.vault.internal" });
  assert.deepEqual(addressOf("/b/k/ey", opts("127.0.0.1:8080")), {
    bucket: "b",
    key: "k/ey",
    resource: "/b/k/ey",
  });
  assert.deepEqual(addressOf("/b", opts("127.0.0.1")), { bucket: "b", key: "", resource: "/b" });
  assert.deepEqual(addressOf("/", opts("127.0.0.1")), { bucket: "", key: "", resource: "/" });
  assert.deepEqual(addressOf("/k%20ey", opts("backups.s3.vault.internal:8080")), {
    bucket: "backups",
    key: "k ey",
    resource: "/backups/k ey",
  });
  // The bare domain is the service endpoint, path-style.
  assert.deepEqual(addressOf("/b/k", opts("s3.vault.internal")).bucket, "b");
  // Keys are kept exactly as sent: no dot-segment or slash normalisation.
  assert.deepEqual(addressOf("/b/../x//y", opts("127.0.0.1")).key, "../x//y");
});

Deno.test("splitUrl - keeps the raw path and decodes query pairs without turning + into spaces", () => {
  assert.deepEqual(splitUrl("http://h:1/b/a+b%2Fc?prefix=a+b%20c&list-type=2&flag"), {
    path: "/b/a+b%2Fc",
    query: [["prefix", "a+b c"], ["list-type", "2"], ["flag", ""]],
  });
});

Deno.test("GET /healthz - 503 naming the Worker that does not answer within 2 s; 503 while draining", async () => {
  const answers = { call: () => Promise.resolve({}) };
  const hung = { call: () => new Promise(() => {}) };
  let draining = false;
  const app = (scrub: unknown) =>
    createApp({
      meta: answers,
      store: answers,
      scrub,
      draining: () => draining,
    } as unknown as AppDeps);
  const healthy = await app(answers).fetch(new Request("http://127.0.0.1/healthz"));
  assert.equal(healthy.status, 200, await healthy.text());
  const started = performance.now();
  const res = await app(hung).fetch(new Request("http://127.0.0.1/healthz"));
  assert.equal(res.status, 503);
  assert.match((await res.json()).error, /the scrubber did not answer/);
  assert.ok(performance.now() - started < 5000);
  draining = true;
  const stopping = await app(answers).fetch(new Request("http://127.0.0.1/healthz"));
  assert.equal(stopping.status, 503);
  assert.match(await stopping.text(), /<Code>ServiceUnavailable<\/Code>/);
  assert.equal(stopping.headers.get("connection"), "close");
});
