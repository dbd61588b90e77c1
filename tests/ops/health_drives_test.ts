/** `GET /health/drives`: drive and scrub states for monitors and the console, 503 while degraded. */
import { assertEquals } from "../helpers/assert_s3.ts";
import { startVault } from "../helpers/vault.ts";

Deno.test({
  name: "GET /health/drives - names each drive's state, the erasure geometry and the scrubber's",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "amber-health-drives-" });
    const drives = [`${root}/d1`, `${root}/d2`, `${root}/d3`];
    for (const d of drives) await Deno.mkdir(d);
    const vault = await startVault({ env: { AMBER_DRIVES: drives.join(",") } });
    try {
      const res = await fetch(`${vault.endpoint}/health/drives`);
      const body = await res.json();
      assertEquals(res.status, 200, JSON.stringify(body));
      assertEquals([body.state, body.k, body.m, body.writeQuorum], ["ok", 2, 1, 3]);
      assertEquals(body.drives.map((d: { state: string }) => d.state), ["ready", "ready", "ready"]);
      assertEquals(typeof body.scrub.state, "string", JSON.stringify(body.scrub));
      assertEquals(body.scrub.totals.unrecoverable, 0);
      const metrics = await (await fetch(`${vault.endpoint}/metrics`)).text();
      assertEquals(/^amber_drives 3$/m.test(metrics), true, "amber_drives");
      assertEquals(/^amber_drives_online 3$/m.test(metrics), true, "amber_drives_online");
    } finally {
      assertEquals(await vault.stop(), 0);
      await Deno.remove(root, { recursive: true });
    }
  },
});
