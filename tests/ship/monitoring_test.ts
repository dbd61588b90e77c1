/**
 * The shipped Prometheus rules and Grafana dashboard name only metrics the
 * vault really exports (`promtool check rules` runs in the client suites,
 * where Debian's prometheus package is installed).
 */
import { assertEquals, assertOk } from "../helpers/assert_s3.ts";
import { startVault } from "../helpers/vault.ts";

const MONITORING = new URL("../../deploy/monitoring/", import.meta.url).pathname;

/** Metric families named in PromQL text (histogram series folded into their family). */
function metricNames(text: string): Set<string> {
  return new Set(
    [...text.matchAll(/\bamber_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, "")),
  );
}

Deno.test({
  name: "Monitoring - every metric in the alert rules and the dashboard is exported by the vault",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const rules = await Deno.readTextFile(`${MONITORING}amber-alerts.yml`);
    const dashboard = JSON.parse(await Deno.readTextFile(`${MONITORING}grafana-dashboard.json`));
    const exprs = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
      p.targets.map((t) => t.expr)
    ).join("\n");
    const vault = await startVault();
    try {
      const metrics = await (await fetch(`${vault.endpoint}/metrics`)).text();
      const exported = new Set([...metrics.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
      for (const [what, text] of [["alert rules", rules], ["dashboard", exprs]]) {
        const named = metricNames(text);
        assertOk(named.size > 5, `${what} name only ${named.size} metrics`);
        const missing = [...named].filter((n) => !exported.has(n));
        assertEquals(missing, [], `${what} name metrics the vault does not export`);
      }
    } finally {
      assertEquals(await vault.stop(), 0);
    }
  },
});
