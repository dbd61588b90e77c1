import assert from "node:assert/strict";
import { addressOf, splitUrl } from "./app.ts";

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
