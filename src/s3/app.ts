/**
 * The S3 HTTP surface: request id → address → signature → endpoint → access
 * → operation → one renderer. Also `/healthz`, `/metrics` and the web console
 * (`GET /` from a browser) for unsigned requests.
 *
 * @module
 */

import { Hono } from "hono";
import type { Principal } from "../auth/mod.ts";
import type { MetaClient, ScrubClient, ScrubStatus, StoreClient } from "../channel/mod.ts";
import { log, type VaultMetrics, within } from "../ops/mod.ts";
import { authorizeRequest, sourceAddressOf } from "./access_check.ts";
import { attestTime, createSnapshot, exportAudit, scrubAdmin, stageApproval } from "./admin.ts";
import { adminError } from "./admin_auth.ts";
import { routeAdminKeys } from "./admin_keys.ts";
import { bucketHealthRoute, bucketPolicyRoute } from "./bucket_policy.ts";
import { consoleResponse, wantsConsole } from "./console/mod.ts";
import { dispatch } from "./dispatch.ts";
import { type Endpoint, parseEndpoint } from "./endpoint.ts";
import { S3Error, toS3Error } from "./errors.ts";
import type { OpContext, OpResult } from "./ops/context.ts";
import { type KeyDirectory, type KnownKey, refuseSignedBeforeCreated } from "./key_directory.ts";
import { admitWrite, QUOTA_WARNING_HEADER } from "./ops/quota.ts";
import { serveSosapi } from "./ops/sosapi.ts";
import type { SignalMonitor } from "./signals.ts";
import { type AuthResult, presignedHeaders, verifyRequest } from "./sigv4/mod.ts";
import { escapeXml } from "./xml.ts";

/** What the S3 app needs from the rest of the vault. */
export interface AppDeps {
  meta: MetaClient;
  store: StoreClient;
  /** The scrubber, when the vault runs one. */
  scrub?: ScrubClient;
  metrics: VaultMetrics;
  region: string;
  /** Virtual-hosted requests address `<bucket>.<domain>`. */
  domain: string;
  /** The access keys: root and the managed ones, with their secrets and grants. */
  keys: KeyDirectory;
  /** Token for `/admin/*` (`Authorization: Bearer …`); undefined when none is configured. */
  adminToken?: string;
  /** Ransomware signals fed by every request. */
  signals: SignalMonitor;
  /** The vault's id, hex, named by `/healthz` (approvals are bound to it). */
  vaultId?: string;
  /** Injected clock, ms since the epoch. */
  now(): number;
  /** True once the vault is stopping: new requests are turned away while the ones under way end. */
  draining?(): boolean;
}

/** How long `/healthz` waits for a Worker to answer before it reports the vault unavailable. */
const HEALTH_TIMEOUT_MS = 2000;

/** Rejects, naming `what`, unless `p` settles within the health check's wait. */
async function answers(p: Promise<unknown>, what: string): Promise<void> {
  if ((await within(p, HEALTH_TIMEOUT_MS)).late) {
    throw new Error(`${what} did not answer within ${HEALTH_TIMEOUT_MS} ms`);
  }
}

function setScrubMetrics(metrics: VaultMetrics, s: ScrubStatus): void {
  const g = metrics.scrub;
  g.bytesScanned.set(s.totals.bytesScanned);
  g.shardsChecked.set(s.totals.shardsChecked);
  g.badShards.set(s.totals.found);
  g.repairedShards.set(s.totals.repaired);
  g.unrecoverableChunks.set(s.lastPass?.unrecoverable ?? 0);
  g.lastFullPass.set((s.lastFullPassAt ?? 0) / 1000);
  g.running.set(s.state === "running" ? 1 : s.state === "paused" ? 0.5 : 0);
  // At most 1: the sweep after the pass's end (records moved or written meanwhile) can pass the estimate.
  g.progress.set(s.pass ? Math.min(1, s.pass.bytesScanned / Math.max(1, s.pass.bytesTotal)) : 0);
}

function newRequestId(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("").toUpperCase();
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error("InvalidArgument", { message: "The request URI is not valid URL encoding" });
  }
}

/**
 * Splits a request URL into its raw path (exactly as sent: S3 keys may hold
 * `..`, `//` and `+`, which URL parsing would rewrite) and its decoded query
 * pairs (`+` stays `+`, as the SDKs send spaces as `%20`).
 */
export function splitUrl(url: string): { path: string; query: [string, string][] } {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  const rest = start < 0 ? "/" : url.slice(start);
  const q = rest.indexOf("?");
  const path = q < 0 ? rest : rest.slice(0, q);
  const query: [string, string][] = [];
  if (q >= 0) {
    for (const part of rest.slice(q + 1).split("&")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      query.push(
        eq < 0 ? [decode(part), ""] : [decode(part.slice(0, eq)), decode(part.slice(eq + 1))],
      );
    }
  }
  return { path, query };
}

/**
 * Splits a raw path into bucket and key: virtual-hosted when the host is
 * `<bucket>.<domain>`, path-style otherwise.
 */
export function addressOf(
  path: string,
  opts: { host: string | null; domain: string },
): { bucket: string; key: string; resource: string } {
  const hostname = (opts.host ?? "").replace(/:\d+$/, "").toLowerCase();
  const suffix = `.${opts.domain.toLowerCase()}`;
  if (hostname.length > suffix.length && hostname.endsWith(suffix)) {
    const bucket = hostname.slice(0, -suffix.length);
    const key = decode(path.slice(1));
    return { bucket, key, resource: `/${bucket}/${key}` };
  }
  const slash = path.indexOf("/", 1);
  const bucket = decode(slash < 0 ? path.slice(1) : path.slice(1, slash));
  const key = slash < 0 ? "" : decode(path.slice(slash + 1));
  return { bucket, key, resource: path === "/" ? "/" : `/${bucket}${key ? "/" + key : ""}` };
}

/**
 * The policy of every answer but the console's page: stored objects share the console's origin, so
 * an HTML or SVG object (any writer can store one, an append key too) must never run script there
 * (it could read the console's credentials), nor load anything from elsewhere (a remote image tells
 * its writer when and from where the operator opened it; a remote style sheet can draw a lookalike
 * page at the vault's address).
 */
const ANSWER_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'";

/** Headers every answer carries (see {@linkcode ANSWER_CSP}); S3 clients ignore both. */
function sandboxed(headers: Headers): Headers {
  headers.set("content-security-policy", ANSWER_CSP);
  headers.set("x-content-type-options", "nosniff");
  return headers;
}

function renderError(e: S3Error, requestId: string, withBody: boolean): Response {
  const headers = sandboxed(new Headers({ "x-amz-request-id": requestId, ...(e.headers ?? {}) }));
  if (!withBody || e.status === 304) return new Response(null, { status: e.status, headers });
  headers.set("content-type", "application/xml");
  const extra = Object.entries(e.extra ?? {}).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join(
    "",
  );
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${e.code}</Code><Message>${
    escapeXml(e.message)
  }</Message>${
    e.resource ? `<Resource>${escapeXml(e.resource)}</Resource>` : ""
  }${extra}<RequestId>${requestId}</RequestId></Error>`;
  return new Response(body, { status: e.status, headers });
}

function renderResult(r: OpResult, requestId: string): Response {
  const headers = sandboxed(new Headers(r.headers));
  headers.set("x-amz-request-id", requestId);
  return new Response(r.body ?? null, { status: r.status, headers });
}

function expectsContinueWithoutBody(req: Request): boolean {
  return req.headers.get("expect")?.toLowerCase() === "100-continue" &&
    (req.headers.get("content-length") ?? "0") === "0";
}

function isSigned(req: Request, url: URL): boolean {
  return req.headers.has("authorization") || url.searchParams.has("X-Amz-Signature");
}

/**
 * Builds the hono app serving S3 and the unsigned operations endpoints.
 *
 * @param deps Clients, metrics, credentials and clock.
 * @returns The app.
 */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();

  // Health, metrics and admin answers too (the console's page sets a policy of its own).
  app.use("*", async (c, next) => {
    await next();
    if (!c.res.headers.has("content-security-policy")) sandboxed(c.res.headers);
  });

  app.use("*", async (c, next) => {
    if (!deps.draining?.()) return await next();
    // Stopping: the requests under way finish; a new one is told to come back (and to reconnect).
    const e = new S3Error("ServiceUnavailable", {
      message: "The vault is shutting down; retry once it is back.",
      headers: { connection: "close", "retry-after": "5" },
    });
    return renderError(e, newRequestId(), c.req.method !== "HEAD");
  });

  app.get("/healthz", async (c, next) => {
    if (isSigned(c.req.raw, new URL(c.req.url))) return next();
    try {
      // Every Worker must answer, and soon: a probe that hangs helps nobody.
      await Promise.all([
        answers(deps.meta.call({ type: "ping" }), "the index"),
        answers(deps.store.call({ type: "ping" }), "the chunk store"),
        ...(deps.scrub ? [answers(deps.scrub.call({ type: "scrubStatus" }), "the scrubber")] : []),
      ]);
      return c.json({ status: "ok", vault: deps.vaultId });
    } catch (e) {
      return c.json({ status: "unavailable", error: (e as Error).message }, 503);
    }
  });

  app.get("/", (c, next) => {
    // Only a browser's unsigned GET / on the service host: S3 has no anonymous access, so no
    // S3 request is shadowed (README "Web console").
    const host = c.req.raw.headers.get("host");
    if (!wantsConsole(c.req.raw) || addressOf("/", { host, domain: deps.domain }).bucket !== "") {
      return next();
    }
    return consoleResponse(deps.region);
  });

  app.post("/admin/snapshots", (c, next) => {
    // A bare POST on a key is no S3 operation, so this path cannot shadow one.
    if (new URL(c.req.url).search !== "") return next();
    return createSnapshot(c.req.raw, deps, newRequestId(), sourceAddressOf(c.env));
  });
  routeAdminKeys(app, deps, newRequestId);

  app.get(
    "/admin/audit",
    (c) => exportAudit(c.req.raw, deps, newRequestId(), sourceAddressOf(c.env)),
  );
  app.post(
    "/admin/clock",
    (c) => attestTime(c.req.raw, deps, newRequestId(), sourceAddressOf(c.env)),
  );
  app.post("/approve", (c) => stageApproval(c.req.raw, deps, newRequestId()));
  app.get("/health/signals", (c, next) => {
    if (isSigned(c.req.raw, new URL(c.req.url))) return next();
    return c.json(deps.signals.report(deps.now()));
  });

  // Drive states, the rebuild under way and the scrubber's last findings (counts only, no object
  // names), for monitors and the console.
  app.get("/health/drives", async (c, next) => {
    if (isSigned(c.req.raw, new URL(c.req.url))) return next();
    const [status, scrub] = await Promise.all([
      deps.store.call({ type: "drives" }),
      deps.scrub?.call({ type: "scrubStatus" }),
    ]);
    const last = scrub?.lastPass;
    const degraded = status.drives.some((d) => d.state !== "ready") ||
      (last?.unrecoverable ?? 0) > 0;
    return c.json({
      state: degraded ? "degraded" : "ok",
      ...status,
      // States, not where the drives are mounted: this answer is unsigned.
      drives: status.drives.map(({ index, state, owedShards }) => ({ index, state, owedShards })),
      scrub: scrub && {
        state: scrub.state,
        lastFullPassAt: scrub.lastFullPassAt && new Date(scrub.lastFullPassAt).toISOString(),
        nextPassAt: scrub.nextPassAt && new Date(scrub.nextPassAt).toISOString(),
        lastPass: last && {
          found: last.found,
          repaired: last.repaired,
          unrecoverable: last.unrecoverable,
          refMismatches: last.refMismatches,
        },
        totals: scrub.totals,
      },
    }, degraded ? 503 : 200);
  });

  // Unsigned: monitoring systems cannot sign; a signed GET here is an S3 request (bucket "health").
  app.get("/health/buckets", (c, next) => {
    if (isSigned(c.req.raw, new URL(c.req.url))) return next();
    return bucketHealthRoute(deps, { requestId: newRequestId() });
  });
  app.get("/health/buckets/:bucket", (c, next) => {
    if (isSigned(c.req.raw, new URL(c.req.url))) return next();
    return bucketHealthRoute(deps, { bucket: c.req.param("bucket"), requestId: newRequestId() });
  });

  app.on(["GET", "PUT"], "/admin/buckets/:bucket/policy", (c, next) => {
    if (new URL(c.req.url).search !== "") return next();
    return bucketPolicyRoute(c.req.raw, deps, {
      bucket: c.req.param("bucket"),
      sourceAddress: sourceAddressOf(c.env),
      requestId: newRequestId(),
    });
  });

  app.on(["GET", "POST"], "/admin/scrub", (c, next) => {
    if (new URL(c.req.url).search !== "") return next();
    return scrubAdmin(c.req.raw, deps, newRequestId(), sourceAddressOf(c.env));
  });

  // The admin API answers in JSON whatever the method: another one is 405, not an S3 error (no
  // bucket may be called "admin", so no S3 request is shadowed).
  for (
    const path of [
      "/admin/keys",
      "/admin/keys/:accessKey",
      "/admin/snapshots",
      "/admin/audit",
      "/admin/clock",
      "/admin/scrub",
      "/admin/buckets/:bucket/policy",
    ]
  ) {
    app.all(path, (c, next) => {
      if (new URL(c.req.url).search !== "") return next();
      const resource = new URL(c.req.url).pathname;
      const e = new S3Error("MethodNotAllowed", {
        message: `${c.req.method} is not allowed on ${resource}`,
      });
      return adminError(e, resource, newRequestId());
    });
  }

  // Unsigned, so anyone may ask: concurrent scrapes share one computation.
  let scrape: Promise<string> | undefined;
  app.get("/metrics", async (c, next) => {
    if (isSigned(c.req.raw, new URL(c.req.url))) return next();
    scrape ??= collectMetrics(deps).finally(() => (scrape = undefined));
    return c.text(await scrape, 200, { "content-type": deps.metrics.registry.contentType });
  });

  app.all("*", (c) => handleS3(c.req.raw, deps, sourceAddressOf(c.env)));
  return app;
}

/** Reads the totals from the Workers into the gauges and renders the metrics. */
async function collectMetrics(deps: AppDeps): Promise<string> {
  const [m, s] = await Promise.all([
    deps.meta.call({ type: "stats" }),
    deps.store.call({ type: "stats" }),
  ]);
  deps.metrics.logicalBytes.set(m.logicalBytes);
  deps.metrics.versions.set(m.versions);
  deps.metrics.storedBytes.set(s.storedBytes);
  deps.metrics.inlineBytes.set(m.inlineBytes);
  deps.metrics.plainChunkBytes.set(s.plainBytes);
  deps.metrics.chunks.set(s.chunks);
  deps.metrics.diskBytes.set(s.diskBytes);
  deps.metrics.clockWallAhead.set(m.clock.wallAheadMs / 1000);
  deps.metrics.clockUncreditedJump.set(m.clock.uncreditedJumpMs / 1000);
  deps.metrics.gcRuns.set(s.gc.runs);
  deps.metrics.gcDeletedChunks.set(s.gc.deletedChunks);
  deps.metrics.gcReclaimedBytes.set(s.gc.reclaimedBytes);
  deps.signals.report(deps.now());
  const health = await deps.meta.call({ type: "bucketHealth" });
  deps.metrics.buckets.update(health.now, health.buckets);
  const drives = s.drives.drives;
  deps.metrics.drives.set(drives.length);
  deps.metrics.drivesOnline.set(drives.filter((d) => d.state !== "offline").length);
  deps.metrics.drivesRebuilding.set(drives.filter((d) => d.state === "rebuilding").length);
  deps.metrics.owedShards.set(drives.reduce((n, d) => n + d.owedShards, 0));
  const rebuild = s.drives.rebuild;
  deps.metrics.rebuildProgress.set(
    !rebuild || rebuild.done
      ? 1
      : Math.min(1, rebuild.checkedChunks / Math.max(1, rebuild.totalChunks)),
  );
  deps.metrics.healedShards.set(s.drives.healedShards);
  if (deps.scrub) setScrubMetrics(deps.metrics, await deps.scrub.call({ type: "scrubStatus" }));
  return await deps.metrics.registry.metrics();
}

async function handleS3(
  req: Request,
  deps: AppDeps,
  sourceAddress: string | undefined,
): Promise<Response> {
  const requestId = newRequestId();
  const started = performance.now();
  let op: Endpoint["op"] | "Unknown" = "Unknown";
  let resource = "/";
  let response: Response;
  let bytes = { in: 0, out: 0 };
  const writes: string[] = [];
  let bucket: string | undefined;
  let caller: KnownKey | undefined;
  let result: OpResult | undefined;
  try {
    const { path, query: pairs } = splitUrl(req.url);
    const query = new URLSearchParams(pairs);
    const address = addressOf(path, { host: req.headers.get("host"), domain: deps.domain });
    resource = address.resource;
    const now = deps.now();
    const auth: AuthResult = await verifyRequest(
      { method: req.method, path, query: pairs, headers: req.headers },
      {
        nowMs: now,
        lookupSecret: async (k) => (caller = await deps.keys.lookup(k))?.secretKey,
      },
    );
    const ep = parseEndpoint({
      method: req.method,
      bucket: address.bucket,
      key: address.key,
      query,
      header: (n) => req.headers.get(n) ?? undefined,
    });
    op = ep.op;
    const signer = caller!;
    refuseSignedBeforeCreated(signer, auth, now);
    const hoisted = auth.presigned
      ? presignedHeaders(pairs).filter(([name]) => !req.headers.has(name))
      : [];
    if (hoisted.length > 0) {
      // Signed, so as trusted as headers (a header sent as well wins); a server request's own
      // headers cannot be changed.
      const headers = new Headers(req.headers);
      for (const [name, value] of hoisted) headers.set(name, value);
      req = new Request(req, { headers });
    }
    const authorize = (principal: Principal) =>
      authorizeRequest(principal, ep, { req, sourceAddress, resource, requestId, meta: deps.meta });
    const { bypassGovernance } = authorize(signer.principal);
    const ctx: OpContext = {
      ep,
      req,
      query,
      auth,
      principal: caller!.principal,
      mayBypassGovernance: bypassGovernance,
      meta: deps.meta,
      store: deps.store,
      region: deps.region,
      requestId,
      now,
      writes,
      stillAuthorized: async () => {
        const current = await deps.keys.lookup(signer.principal.accessKey);
        if (current === signer) return; // unchanged since: the cached entry is the same
        if (!current || current.secretKey !== signer.secretKey) {
          throw new S3Error("AccessDenied", {
            message:
              "The access key was revoked or its secret changed while the request was under way",
          });
        }
        authorize(current.principal); // its rights may have been narrowed meanwhile
      },
    };
    ctx.admission = await admitWrite(ctx);
    bucket = address.bucket;
    result = await serveSosapi(ctx) ?? await dispatch(ctx);
    const quotaWarning = result.headers?.[QUOTA_WARNING_HEADER];
    if (quotaWarning) {
      deps.metrics.buckets.softWarnings.inc({ bucket: address.bucket });
      log("warn", "Soft quota exceeded", { requestId, op, resource, warning: quotaWarning });
    }
    bytes = { in: result.bytesIn ?? 0, out: result.bytesOut ?? 0 };
    response = renderResult(result, requestId);
  } catch (e) {
    const err = toS3Error(e, resource);
    // A bucket that does not exist has no signals: names a caller made up would grow them for ever.
    if (err.code === "NoSuchBucket") bucket = undefined;
    if (err.code === "InternalError") {
      log("error", "Request failed", {
        requestId,
        op,
        resource,
        error: String(e),
        cause: String(err.cause ?? ""),
      });
    }
    response = renderError(err, requestId, req.method !== "HEAD");
    // A body the operation produced that never went out (its answer failed after it): its
    // download's pin and read-ahead go now.
    if (result?.body instanceof ReadableStream) result.body.cancel().catch(() => undefined);
    if (writes.length > 0) {
      // The index may never have seen these sessions; it releases those it did itself.
      deps.store.call({ type: "writeRelease", writeIds: writes }).catch(() => undefined);
    }
    // Drain an unread body so the connection stays usable for the client's next request.
    req.body?.cancel().catch(() => undefined);
  }
  if (expectsContinueWithoutBody(req)) {
    // Nothing was read, so no "100 Continue" went out; botocore then misreads the next response on
    // this connection (boto/botocore#3755). Closing the connection keeps the client in step.
    response.headers.set("connection", "close");
  }
  deps.signals.observe({
    op,
    bucket,
    accessKey: caller?.principal.accessKey,
    result: response.status < 300 ? result : undefined,
    time: deps.now(),
  });
  deps.metrics.requests.inc({ operation: op, status: String(response.status) });
  deps.metrics.latency.observe({ operation: op }, (performance.now() - started) / 1000);
  if (bytes.in) deps.metrics.bytesIn.inc(bytes.in);
  if (bytes.out) deps.metrics.bytesOut.inc(bytes.out);
  log("debug", "Request", { requestId, op, status: response.status, resource });
  return response;
}
