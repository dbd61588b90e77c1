/**
 * The shipped Prometheus alert rules pass `promtool check rules` (Debian
 * package `prometheus`). Which metrics they name is checked against a live
 * vault in tests/ship/monitoring_test.ts.
 *
 * @module
 */

import { check, run, type Suite, type Target } from "./lib.ts";

const RULES = new URL("../../deploy/monitoring/amber-alerts.yml", import.meta.url).pathname;

/**
 * Builds the promtool suite.
 *
 * @param _t Unused: the rules are checked offline.
 * @returns The suite.
 */
export function promtoolSuite(_t: Target): Suite {
  return {
    client: "promtool",
    bin: "promtool",
    pkg: "prometheus",
    cases: [{
      name: "promtool check rules - deploy/monitoring/amber-alerts.yml is valid",
      async fn() {
        const r = await run("promtool", ["check", "rules", RULES]);
        check(r.code === 0, `promtool check rules failed:\n${r.stdout}${r.stderr}`);
        check(/SUCCESS: \d+ rules found/.test(r.stdout), `unexpected output:\n${r.stdout}`);
      },
    }],
  };
}
