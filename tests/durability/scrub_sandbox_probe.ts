/**
 * Run by scrub_sandbox_test.ts: starts a Worker with the scrubber's
 * permission set and prints what it could and could not do, as JSON.
 *
 * @module
 */

import { workerPermissions } from "../../src/permissions.ts";

const [dataDir, drive] = Deno.args;
const perms = workerPermissions({ dataDir, host: "127.0.0.1", port: 9, drives: [drive] }).scrub;
const code = `
const tries = {
  readDataDir: () => Deno.readTextFileSync("${dataDir}/file"),
  readDrive: () => Deno.readTextFileSync("${drive}/file"),
  writeCheckpoint: () => Deno.writeTextFileSync("${dataDir}/scrub-checkpoint.json", "{}"),
  writeDataDir: () => Deno.writeTextFileSync("${dataDir}/file", "x"),
  writeDrive: () => Deno.writeTextFileSync("${drive}/file", "x"),
  removeDrive: () => Deno.removeSync("${drive}/file"),
  truncateDrive: () => Deno.truncateSync("${drive}/file", 0),
  readOutside: () => Deno.readTextFileSync("/etc/hostname"),
  env: () => Deno.env.get("HOME"),
};
const out = {};
for (const [name, fn] of Object.entries(tries)) {
  try { fn(); out[name] = true; } catch { out[name] = false; }
}
self.postMessage(out);
`;
const url = `${dataDir}/probe_worker.js`;
Deno.writeTextFileSync(url, code);
const w = new Worker(new URL(`file://${url}`), {
  type: "module",
  deno: { permissions: { ...perms, read: [...(perms.read as string[]), url] } },
} as WorkerOptions);
w.onmessage = (e) => {
  console.log(JSON.stringify(e.data));
  w.terminate();
};
