/**
 * `deno task scrub` and `amber scrub`: verify a vault by hand.
 *
 * Against a running vault (one answers `GET /admin/scrub` at the configured
 * host and port and scrubs the same data dir) it starts a pass there and
 * follows it; requests are signed with SigV4 by `AMBER_ACCESS_KEY` /
 * `AMBER_SECRET_KEY` (the root credential the vault runs with). Otherwise
 * it scrubs the stopped vault in-process, read-only unless `--repair`.
 * A progress bar on a terminal, JSON lines otherwise; a final report naming
 * every damaged object; exit status 1 when anything is unrecoverable.
 *
 * @module
 */

import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import type { ScrubFinding, ScrubPass, ScrubStatus } from "../channel/mod.ts";
import { type Config, ConfigError, loadConfig } from "../config.ts";
import { setLogLevel } from "../ops/mod.ts";
import { scrubDataDir } from "./offline.ts";

/** How often a remote pass is polled, ms. */
const POLL_MS = 500;

/** The SHA-256 / HMAC-SHA-256 the SigV4 signer asks for. */
class Sha256 {
  #h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#h = secret ? createHmac("sha256", bytesOf(secret)) : createHash("sha256");
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#h.update(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#h.digest()));
  }
}

function bytesOf(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Output: a redrawn bar on a terminal, JSON lines otherwise. */
interface Output {
  progress(s: ScrubStatus): void;
  done(): void;
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function terminalOutput(): Output {
  const enc = new TextEncoder();
  let last = 0;
  return {
    progress(s) {
      const p = s.pass;
      if (!p || Date.now() - last < 200) return;
      last = Date.now();
      // The sweep after the pass's end (records moved or written meanwhile) can pass the estimate.
      const ratio = Math.min(
        1,
        p.phase === "shards"
          ? p.bytesScanned / Math.max(1, p.bytesTotal)
          : p.objectsChecked / Math.max(1, p.objectsTotal),
      );
      const width = 24;
      const full = Math.min(width, Math.round(ratio * width));
      const eta = s.etaSeconds === undefined ? "?" : `${s.etaSeconds}s`;
      const line = `[${"#".repeat(full)}${"-".repeat(width - full)}] ${p.phase} ` +
        `${mib(p.bytesScanned)}/${
          mib(p.bytesTotal)
        } ${p.objectsChecked}/${p.objectsTotal} objects ` +
        `${mib(s.currentBytesPerSecond)}/s ETA ${eta} found ${p.found} repaired ${p.repaired}`;
      Deno.stdout.writeSync(enc.encode(`\r${line}\x1b[K`));
    },
    done() {
      Deno.stdout.writeSync(enc.encode("\n"));
    },
  };
}

function jsonOutput(): Output {
  let last = 0;
  return {
    progress(s) {
      const p = s.pass;
      if (!p || Date.now() - last < 1000) return;
      last = Date.now();
      console.log(JSON.stringify({
        event: "progress",
        phase: p.phase,
        bytesScanned: p.bytesScanned,
        bytesTotal: p.bytesTotal,
        objectsChecked: p.objectsChecked,
        objectsTotal: p.objectsTotal,
        bytesPerSecond: s.currentBytesPerSecond,
        etaSeconds: s.etaSeconds,
        found: p.found,
        repaired: p.repaired,
        unrecoverable: p.unrecoverable,
      }));
    },
    done() {},
  };
}

function describe(f: ScrubFinding): string {
  const where = f.drive === undefined
    ? ""
    : ` on drive ${f.drive}${f.shard === undefined ? "" : ` (shard ${f.shard})`}`;
  const objects = (f.objects ?? []).map((o) =>
    "versionId" in o
      ? `${o.bucket}/${o.key} version ${o.versionId}`
      : `${o.bucket}/${o.key} upload ${o.uploadId} part ${o.partNumber}`
  );
  const what = f.kind === "badSegment"
    ? `segment ${f.segment}`
    : f.kind === "badInline"
    ? "inline body"
    : `chunk ${f.chunk.slice(0, 16)}`;
  return `${f.kind} ${what}${where}: ${f.detail}` +
    (f.repaired ? " [repaired]" : "") +
    (objects.length > 0 ? `\n    damaged: ${objects.join("\n    damaged: ")}` : "");
}

/**
 * Prints the final report of a pass.
 *
 * @param pass The finished pass.
 * @param json JSON (one line) or text.
 */
export function printReport(pass: ScrubPass, json: boolean): void {
  if (json) {
    console.log(JSON.stringify({ event: "report", ...pass }));
    return;
  }
  const seconds = ((pass.finishedAt ?? Date.now()) - pass.startedAt) / 1000;
  console.log(
    `scrub: ${
      mib(pass.bytesScanned)
    } in ${pass.shardsChecked} shards of ${pass.chunksChecked} chunks, ` +
      `${pass.objectsTotal} objects, ${seconds.toFixed(1)} s: ${pass.found} found, ` +
      `${pass.repaired} shards repaired, ${pass.unrecoverable} unrecoverable, ` +
      `${pass.refMismatches} reference-count mismatches`,
  );
  for (const f of pass.findings) console.log(`  ${describe(f)}`);
  if (pass.findingsDropped > 0) console.log(`  … and ${pass.findingsDropped} more findings`);
}

/** A signed call to the vault's `/admin/scrub`. */
async function adminScrub(
  config: Config,
  body?: Record<string, unknown>,
): Promise<Response> {
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const text = body ? JSON.stringify(body) : "";
  const headers: Record<string, string> = {
    host: `${host}:${config.port}`,
    "x-amz-content-sha256": createHash("sha256").update(text).digest("hex"),
  };
  if (config.accessKey && config.secretKey) {
    const signer = new SignatureV4({
      credentials: { accessKeyId: config.accessKey, secretAccessKey: config.secretKey },
      region: config.region,
      service: "s3",
      sha256: Sha256,
    });
    const signed: { headers: Record<string, string> } = await signer.sign({
      method: body ? "POST" : "GET",
      protocol: "http:",
      hostname: config.host,
      port: config.port,
      path: "/admin/scrub",
      query: {},
      headers,
      body: text,
    } as never) as never;
    Object.assign(headers, signed.headers);
  }
  delete headers.host;
  return await fetch(`http://${host}:${config.port}/admin/scrub`, {
    method: body ? "POST" : "GET",
    headers,
    body: body ? text : undefined,
  });
}

/** Asks the configured address for a vault; undefined when none answers. */
async function runningVault(config: Config): Promise<ScrubStatus | undefined> {
  let res: Response;
  try {
    res = await adminScrub(config);
  } catch {
    return undefined; // nothing listens: the vault is stopped
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new Error(
      `A vault answers on ${config.host}:${config.port} but refuses the scrub request (${res.status} ${
        body.error ?? ""
      }): set AMBER_ACCESS_KEY and AMBER_SECRET_KEY to its root credential`,
    );
  }
  return body as ScrubStatus;
}

async function followRemote(config: Config, out: Output): Promise<ScrubPass> {
  const asked = Date.now();
  let s = await (await adminScrub(config, { action: "start" })).json() as ScrubStatus;
  while (s.state !== "idle") {
    out.progress(s);
    await new Promise((r) => setTimeout(r, POLL_MS));
    s = await (await adminScrub(config)).json() as ScrubStatus;
  }
  out.done();
  const last = s.lastPass;
  // A pass that was already under way when asked counts too: it finished after the request.
  if (!last || (last.finishedAt ?? 0) < asked) {
    throw new Error(
      `The vault's scrub pass stopped before it finished: ${s.lastError ?? "it was cancelled"}`,
    );
  }
  return last;
}

/**
 * Runs the scrub command.
 *
 * @param args Arguments after `scrub`: `--repair`, `--json`, and any vault setting
 *   (`--data-dir`, `--drives`, `--ec`, `--host`, `--port`, …).
 * @returns The exit status: 0 clean or repaired, 1 unrecoverable damage, 2 usage or access error.
 */
export async function runScrubCommand(args: string[]): Promise<number> {
  const repair = args.includes("--repair");
  const json = args.includes("--json") || !Deno.stdout.isTerminal();
  let config: Config;
  try {
    config = loadConfig({
      args: args.filter((a) => a !== "--repair" && a !== "--json"),
      env: (n) => Deno.env.get(n),
      readFile: Deno.readTextFileSync,
      cwd: Deno.cwd(),
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const line of e.lines) console.error(`amber scrub: ${line}`);
    return 2;
  }
  setLogLevel("error");
  const out = json ? jsonOutput() : terminalOutput();
  let pass: ScrubPass;
  try {
    const running = await runningVault(config);
    if (running && running.dataDir === config.dataDir) {
      if (!json) console.log(`scrub: asking the vault running on ${config.host}:${config.port}`);
      pass = await followRemote(config, out);
    } else {
      if (!json) {
        console.log(
          `scrub: the vault is stopped; reading "${config.dataDir}" ${
            repair ? "and repairing" : "read-only"
          }`,
        );
      }
      pass = await scrubDataDir(config.dataDir, {
        drives: config.drives,
        ec: config.ec,
        vaultKey: config.vaultKey,
        repair,
        onProgress: (s) => out.progress(s),
      });
      out.done();
    }
  } catch (e) {
    console.error(`amber scrub: ${(e as Error).message}`);
    return 2;
  }
  printReport(pass, json);
  return pass.unrecoverable > 0 ? 1 : 0;
}
