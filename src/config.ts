/**
 * The one place configuration comes from: command-line flags, `AMBER_*`
 * environment variables and an optional JSON config file, in that order of
 * precedence, validated at start-up with one clear line per bad setting.
 *
 * @module
 */

/** Validated vault configuration. */
export interface Config {
  /** Address the S3 endpoint listens on. @default "127.0.0.1" */
  host: string;
  /** TCP port of the S3 endpoint. @default 8080 */
  port: number;
  /** Absolute path of the data dir. @default "./data" resolved */
  dataDir: string;
  /** Path of the JSON config file, when one was given. */
  configFile?: string;
  /** Root access key id from `AMBER_ACCESS_KEY`. */
  accessKey?: string;
  /** Root secret from `AMBER_SECRET_KEY`. */
  secretKey?: string;
  /** Passphrase wrapping the master key; `undefined` means the demo key. */
  vaultKey?: string;
  /** Region reported by GetBucketLocation and accepted in SigV4 scopes. @default "us-east-1" */
  region: string;
  /** Virtual-hosted requests address `<bucket>.<domain>`. @default "localhost" */
  domain: string;
  /** Log level. @default "info" */
  logLevel: "debug" | "info" | "warn" | "error";
  /** Seconds between garbage collections; 0 turns the timer off. @default 3600 */
  gcIntervalSeconds: number;
  /** Chunks written or reused more recently than this many seconds are never collected. @default 3600 */
  gcGraceSeconds: number;
  /** Largest forward jump of the system clock credited across a restart, seconds. @default 86400 */
  maxClockJumpSeconds: number;
  /** Multipart uploads left unfinished this many seconds are aborted; 0 never. @default 604800 */
  uploadExpirySeconds: number;
  /** Distinct approvals a version delete, governance bypass, bucket delete or lock change needs. @default 0 */
  deleteQuorum: number;
  /** Who may approve: an HMAC secret shared with the vault, or an Ed25519 public key (hex). */
  approvers: { id: string; kind: "hmac" | "ed25519"; key: string }[];
  /** Longest life of an approval, seconds. @default 3600 */
  approvalTtlSeconds: number;
  /** Bearer token for `/admin/*` and `amber keys` from `AMBER_ADMIN_TOKEN`; none means SigV4 owner keys only. */
  adminToken?: string;
  /**
   * Ransomware-signal thresholds that differ from the defaults (`AMBER_SIGNAL_THRESHOLDS`, a JSON
   * object of positive numbers); the router checks the names against `ops/signals.ts`.
   */
  signalThresholds: Record<string, number>;
  /** Absolute paths of the drives chunk shards are striped over, in slot order. @default [`${dataDir}/store`] */
  drives: string[];
  /** Erasure coding: `k` data and `m` parity shards per chunk, `k + m` = drive count. @default {@linkcode defaultEc} */
  ec: { k: number; m: number };
  /** Rate a replaced drive is rebuilt at, MiB/s. @default 64 */
  rebuildMiBps: number;
  /** A full scrub pass runs within this many seconds (`7d`, `12h`, `30m` or seconds). @default 604800 */
  scrubIntervalSeconds: number;
  /** Scrub rate cap, MiB/s; 0 derives it from the stored bytes and the interval. @default 0 */
  scrubMiBps: number;
  /** The index is checkpointed onto every drive this often, seconds (`1h`, `30m`, …). @default 3600 */
  indexCheckpointSeconds: number;
}

/**
 * The erasure-coding default for a drive count: parity grows with the drive
 * count (1 → 1+0, 2 → 1+1, 3 → 2+1, 4 → 2+2, 6 → 4+2, 10 → 7+3, 17 → 13+4),
 * so small vaults survive one lost drive and larger ones two or more.
 *
 * @param drives Number of drives.
 * @returns `k` and `m` with `k + m = drives`.
 */
export function defaultEc(drives: number): { k: number; m: number } {
  const m = drives <= 1 ? 0 : drives <= 3 ? 1 : drives <= 9 ? 2 : drives <= 16 ? 3 : 4;
  return { k: drives - m, m };
}

/** Thrown when settings are invalid; one line per bad setting. */
export class ConfigError extends Error {
  readonly lines: string[];
  constructor(lines: string[]) {
    super(lines.join("\n"));
    this.name = "ConfigError";
    this.lines = lines;
  }
}

/** Longest interval a timer can wait, s: JavaScript timers take ms in 32 bits, and fire at once past that. */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** Every setting: its flag, env variable and config-file key. */
const SETTINGS = {
  host: { flag: "--host", env: "AMBER_HOST" },
  port: { flag: "--port", env: "AMBER_PORT" },
  dataDir: { flag: "--data-dir", env: "AMBER_DATA_DIR" },
  accessKey: { flag: "--access-key", env: "AMBER_ACCESS_KEY" },
  secretKey: { flag: "--secret-key", env: "AMBER_SECRET_KEY" },
  vaultKey: { flag: "--vault-key", env: "AMBER_VAULT_KEY" },
  region: { flag: "--region", env: "AMBER_REGION" },
  domain: { flag: "--domain", env: "AMBER_DOMAIN" },
  logLevel: { flag: "--log-level", env: "AMBER_LOG_LEVEL" },
  gcIntervalSeconds: { flag: "--gc-interval", env: "AMBER_GC_INTERVAL" },
  gcGraceSeconds: { flag: "--gc-grace", env: "AMBER_GC_GRACE" },
  maxClockJumpSeconds: { flag: "--max-clock-jump", env: "AMBER_MAX_CLOCK_JUMP" },
  uploadExpirySeconds: { flag: "--upload-expiry", env: "AMBER_UPLOAD_EXPIRY" },
  deleteQuorum: { flag: "--delete-quorum", env: "AMBER_DELETE_QUORUM" },
  approvers: { flag: "--approvers", env: "AMBER_APPROVERS" },
  approvalTtlSeconds: { flag: "--approval-ttl", env: "AMBER_APPROVAL_TTL" },
  adminToken: { flag: "--admin-token", env: "AMBER_ADMIN_TOKEN" },
  signalThresholds: { flag: "--signal-thresholds", env: "AMBER_SIGNAL_THRESHOLDS" },
  drives: { flag: "--drives", env: "AMBER_DRIVES" },
  ec: { flag: "--ec", env: "AMBER_EC" },
  rebuildMiBps: { flag: "--rebuild-rate", env: "AMBER_REBUILD_RATE" },
  scrubIntervalSeconds: { flag: "--scrub-interval", env: "AMBER_SCRUB_INTERVAL" },
  scrubMiBps: { flag: "--scrub-rate", env: "AMBER_SCRUB_RATE" },
  indexCheckpointSeconds: { flag: "--index-checkpoint", env: "AMBER_INDEX_CHECKPOINT" },
} as const;

type SettingName = keyof typeof SETTINGS;

/** Settings that take several values, comma-separated in a flag or variable and a list in the file. */
const LISTS = new Set(["drives", "approvers"]);

/**
 * A config-file value as the text its flag would carry: a list for the
 * comma-separated settings, an object for the thresholds, a string or a
 * number otherwise. Undefined when it is of another type (refused, not coerced:
 * `"drives": ["/a", "/b"]` must not become two odd relative paths).
 */
function fileText(name: SettingName, v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (LISTS.has(name)) {
    const items = Array.isArray(v) ? v : [];
    const ok = Array.isArray(v) && items.every((x) => typeof x === "string" && !x.includes(","));
    return ok ? items.join(",") : undefined;
  }
  if (name === "signalThresholds") {
    return typeof v === "object" && v !== null && !Array.isArray(v) ? JSON.stringify(v) : undefined;
  }
  return typeof v === "number" && Number.isFinite(v) ? String(v) : undefined;
}

/** The version of this build. */
export const VERSION = "0.1.0";

/**
 * The `amber help` text: subcommands and every setting with its flag and
 * environment variable.
 *
 * @returns The text.
 */
export function usage(): string {
  const rows = Object.entries(SETTINGS).map(([key, s]) =>
    `  ${s.flag.padEnd(22)} ${s.env.padEnd(26)} "${key}"`
  );
  return [
    `amber ${VERSION}: an immutable S3 backup vault`,
    "",
    "usage: amber [serve] [options]   run the vault (the default)",
    "       amber keys add|list|set|revoke …   manage access keys of the running vault (amber keys help)",
    "       amber audit-verify <dir>  check the audit log's hash chain and seals (the vault may be stopped)",
    "       amber scrub [--repair]    verify every shard and object (see README, Scrubbing)",
    "       amber rebuild-index [--force]   rebuild a stopped vault's index from its drives",
    "       amber version             print the version",
    "       amber help                print this text",
    "",
    "options (flag, environment variable, config-file key; flags win over the environment, which",
    "wins over the file):",
    ...rows,
    `  ${"--config".padEnd(22)} ${"AMBER_CONFIG".padEnd(26)} (a JSON object of the keys above)`,
  ].join("\n");
}

/**
 * Separates the vault's setting flags (`--port 9000`, `--config=f.json`)
 * from the other arguments of a subcommand such as `amber keys`.
 *
 * @param args Arguments after the subcommand.
 * @returns The setting flags (for {@linkcode loadConfig}) and the rest, in order.
 *
 * @example
 * ```ts
 * import { splitSettingArgs } from "./config.ts";
 * const { settings, rest } = splitSettingArgs(["add", "--port", "9000", "app"]);
 * if (settings.join(" ") !== "--port 9000" || rest.join(" ") !== "add app") throw new Error();
 * ```
 */
export function splitSettingArgs(args: string[]): { settings: string[]; rest: string[] } {
  const flags = new Set([...Object.values(SETTINGS).map((s) => s.flag), "--config"]);
  const settings: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const flag = args[i].split("=")[0];
    if (!flags.has(flag)) {
      rest.push(args[i]);
    } else if (args[i].includes("=")) {
      settings.push(args[i]);
    } else {
      settings.push(...args.slice(i, i + 2));
      i++;
    }
  }
  return { settings, rest };
}

/** Names of every environment variable the vault reads (for `--allow-env`). */
export const ENV_NAMES: readonly string[] = [
  ...Object.values(SETTINGS).map((s) => s.env),
  "AMBER_CONFIG",
];

/** Inputs to {@linkcode loadConfig}; passed in so the function stays testable. */
export interface ConfigSources {
  /** Command-line arguments (without the program name). */
  args: string[];
  /** Environment lookup. */
  env: (name: string) => string | undefined;
  /** Reads the config file; throws when it cannot. */
  readFile: (path: string) => string;
  /** Current working directory, to resolve relative paths. */
  cwd: string;
}

function resolvePath(cwd: string, p: string): string {
  const abs = p.startsWith("/") ? p : `${cwd.replace(/\/$/, "")}/${p}`;
  const out: string[] = [];
  for (const part of abs.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

function parseFlags(args: string[], problems: string[]) {
  const flags = new Map<string, string>();
  const byFlag = new Map<string, string>(
    Object.entries(SETTINGS).map(([name, s]) => [s.flag, name]),
  );
  byFlag.set("--config", "configFile");
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "serve") continue;
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const name = byFlag.get(flag);
    if (!name) {
      problems.push(`Unknown option "${arg}" (see README.md for the settings)`);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) problems.push(`Option "${flag}" needs a value`);
    else flags.set(name, value);
  }
  return flags;
}

/**
 * Builds the validated configuration.
 *
 * @param sources Flags, environment, file reader and working directory.
 * @returns The configuration.
 * @throws {ConfigError} listing every bad setting, one line each.
 *
 * @example
 * ```ts
 * import { loadConfig } from "./config.ts";
 * const c = loadConfig({ args: ["--port", "9000"], env: () => undefined, readFile: () => "{}", cwd: "/srv" });
 * if (c.port !== 9000 || c.dataDir !== "/srv/data") throw new Error("unexpected");
 * ```
 */
export function loadConfig(sources: ConfigSources): Config {
  const problems: string[] = [];
  const flags = parseFlags(sources.args, problems);
  const configFile = flags.get("configFile") ?? sources.env("AMBER_CONFIG");
  let file: Record<string, unknown> = {};
  if (configFile) {
    try {
      const parsed = JSON.parse(sources.readFile(resolvePath(sources.cwd, configFile)));
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new Error("not a JSON object");
      }
      file = parsed;
    } catch (e) {
      problems.push(`Cannot read config file "${configFile}": ${(e as Error).message}`);
    }
    for (const key of Object.keys(file)) {
      if (!(key in SETTINGS)) {
        problems.push(
          `Unknown setting "${key}" in config file "${configFile}" (its keys are listed by "amber help")`,
        );
      }
    }
  }
  const raw = (name: SettingName): { value?: string; from: string } => {
    const s = SETTINGS[name];
    if (flags.has(name)) return { value: flags.get(name), from: s.flag };
    const env = sources.env(s.env);
    if (env !== undefined && env !== "") return { value: env, from: s.env };
    if (file[name] !== undefined) {
      return { value: fileText(name, file[name]), from: `"${name}" in config file` };
    }
    return { from: s.flag };
  };
  for (const name of Object.keys(file)) {
    if (name in SETTINGS && fileText(name as SettingName, file[name]) === undefined) {
      problems.push(
        `Invalid "${name}" in config file "${configFile}": expected ${
          LISTS.has(name)
            ? "a list of strings"
            : name === "signalThresholds"
            ? "an object"
            : "a string or a number"
        }, not ${JSON.stringify(file[name])}`,
      );
    }
  }

  const host = raw("host").value ?? "127.0.0.1";
  if (!/^[A-Za-z0-9.:\-\[\]]+$/.test(host)) {
    problems.push(`Invalid host "${host}" (${raw("host").from})`);
  }

  const portRaw = raw("port");
  const port = Number(portRaw.value ?? "8080");
  if (!/^\d+$/.test(portRaw.value ?? "8080") || port < 1 || port > 65535) {
    problems.push(`Invalid port "${portRaw.value}" (${portRaw.from}): expected 1 to 65535`);
  }

  const dataDir = resolvePath(sources.cwd, raw("dataDir").value ?? "./data");

  const accessKey = raw("accessKey").value;
  const secretKey = raw("secretKey").value;
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    problems.push("AMBER_ACCESS_KEY and AMBER_SECRET_KEY must be set together");
  }
  if (accessKey !== undefined && !/^[A-Za-z0-9_\-]{3,128}$/.test(accessKey)) {
    problems.push(
      `Invalid access key "${accessKey}" (${
        raw("accessKey").from
      }): 3 to 128 letters, digits, "-" or "_"`,
    );
  }
  if (secretKey !== undefined && secretKey.length < 8) {
    problems.push(`Invalid secret key (${raw("secretKey").from}): at least 8 characters`);
  }

  const region = raw("region").value ?? "us-east-1";
  if (!/^[a-z0-9\-]{1,32}$/.test(region)) {
    problems.push(`Invalid region "${region}" (${raw("region").from})`);
  }

  const domain = raw("domain").value ?? "localhost";
  if (!/^[a-z0-9]([a-z0-9.\-]*[a-z0-9])?$/i.test(domain)) {
    problems.push(`Invalid domain "${domain}" (${raw("domain").from})`);
  }

  const logLevel = raw("logLevel").value ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    problems.push(
      `Invalid log level "${logLevel}" (${
        raw("logLevel").from
      }): expected debug, info, warn or error`,
    );
  }

  const seconds = (
    name:
      | "gcIntervalSeconds"
      | "gcGraceSeconds"
      | "maxClockJumpSeconds"
      | "uploadExpirySeconds"
      | "deleteQuorum"
      | "approvalTtlSeconds",
    fallback: number,
  ): number => {
    const r = raw(name);
    const n = Number(r.value ?? fallback);
    if (!/^\d+$/.test(r.value ?? String(fallback))) {
      problems.push(
        `Invalid ${SETTINGS[name].flag.slice(2)} "${r.value}" (${r.from}): expected whole seconds`,
      );
    }
    return n;
  };
  const gcIntervalSeconds = seconds("gcIntervalSeconds", 3600);
  if (gcIntervalSeconds > MAX_TIMER_SECONDS) {
    problems.push(
      `Invalid gc-interval "${gcIntervalSeconds}" (${
        raw("gcIntervalSeconds").from
      }): at most ${MAX_TIMER_SECONDS} s (24 days)`,
    );
  }
  const gcGraceSeconds = seconds("gcGraceSeconds", 3600);
  const maxClockJumpSeconds = seconds("maxClockJumpSeconds", 86400);
  const uploadExpirySeconds = seconds("uploadExpirySeconds", 7 * 86400);
  const approvalTtlSeconds = seconds("approvalTtlSeconds", 3600);
  const approvers = parseApprovers(raw("approvers"), problems);
  const quorumRaw = raw("deleteQuorum");
  const deleteQuorum = Number(quorumRaw.value ?? "0");
  if (!/^\d{1,3}$/.test(quorumRaw.value ?? "0")) {
    problems.push(
      `Invalid delete quorum "${quorumRaw.value}" (${quorumRaw.from}): expected a count`,
    );
  } else if (deleteQuorum > approvers.length) {
    problems.push(
      `Delete quorum ${deleteQuorum} (${quorumRaw.from}) needs at least that many AMBER_APPROVERS; ${approvers.length} configured`,
    );
  }

  const adminToken = raw("adminToken").value;
  if (adminToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(adminToken)) {
    problems.push(
      `Invalid admin token (${
        raw("adminToken").from
      }): 16 to 256 printable characters without spaces`,
    );
  }

  const signalThresholds = parseThresholds(raw("signalThresholds"), problems);

  const drivesRaw = raw("drives");
  const drives = drivesRaw.value === undefined
    ? [`${dataDir}/store`]
    : drivesRaw.value.split(",").map((d) => d.trim()).filter((d) => d !== "").map((d) =>
      resolvePath(sources.cwd, d)
    );
  if (drives.length === 0) {
    problems.push(`Invalid drives "${drivesRaw.value}" (${drivesRaw.from}): list at least one`);
  } else if (new Set(drives).size !== drives.length) {
    problems.push(
      `Invalid drives "${drivesRaw.value}" (${drivesRaw.from}): a drive is listed twice`,
    );
  } else if (drives.length > 255) {
    problems.push(`Invalid drives (${drivesRaw.from}): at most 255 drives`);
  }
  const ecRaw = raw("ec");
  let ec = defaultEc(Math.max(1, drives.length));
  if (ecRaw.value !== undefined) {
    const match = /^(\d+)\+(\d+)$/.exec(ecRaw.value.trim());
    const k = Number(match?.[1]);
    const m = Number(match?.[2]);
    if (!match || k < 1) {
      problems.push(
        `Invalid erasure coding "${ecRaw.value}" (${ecRaw.from}): expected k+m such as 2+2, with k at least 1`,
      );
    } else if (k + m !== drives.length) {
      problems.push(
        `Invalid erasure coding "${ecRaw.value}" (${ecRaw.from}): k+m must equal the ${drives.length} drives (one shard per drive)`,
      );
    } else ec = { k, m };
  }
  const rateRaw = raw("rebuildMiBps");
  const rebuildMiBps = Number(rateRaw.value ?? 64);
  if (!(rebuildMiBps > 0) || !Number.isFinite(rebuildMiBps)) {
    problems.push(
      `Invalid rebuild-rate "${rateRaw.value}" (${rateRaw.from}): expected MiB/s above 0`,
    );
  }

  const scrubRaw = raw("scrubIntervalSeconds");
  const scrubIntervalSeconds = parseDurationSeconds(scrubRaw.value ?? "7d");
  if (scrubIntervalSeconds === undefined || scrubIntervalSeconds < 60) {
    problems.push(
      `Invalid scrub-interval "${scrubRaw.value}" (${scrubRaw.from}): expected a duration of at least 60 s such as 7d, 12h, 30m or 3600`,
    );
  }
  const scrubRateRaw = raw("scrubMiBps");
  const scrubMiBps = Number(scrubRateRaw.value ?? 0);
  if (!(scrubMiBps >= 0) || !Number.isFinite(scrubMiBps)) {
    problems.push(
      `Invalid scrub-rate "${scrubRateRaw.value}" (${scrubRateRaw.from}): expected MiB/s, 0 to derive it from the interval`,
    );
  }

  const checkpointRaw = raw("indexCheckpointSeconds");
  const indexCheckpointSeconds = parseDurationSeconds(checkpointRaw.value ?? "1h");
  if (
    indexCheckpointSeconds === undefined || indexCheckpointSeconds < 1 ||
    indexCheckpointSeconds > MAX_TIMER_SECONDS
  ) {
    problems.push(
      `Invalid index-checkpoint "${checkpointRaw.value}" (${checkpointRaw.from}): expected a duration from 1 s to 24 days such as 1h, 30m or 3600`,
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    host,
    port,
    dataDir,
    configFile: configFile ? resolvePath(sources.cwd, configFile) : undefined,
    accessKey,
    secretKey,
    vaultKey: raw("vaultKey").value,
    region,
    domain,
    logLevel: logLevel as Config["logLevel"],
    gcIntervalSeconds,
    gcGraceSeconds,
    maxClockJumpSeconds,
    uploadExpirySeconds,
    deleteQuorum,
    approvers,
    approvalTtlSeconds,
    adminToken,
    signalThresholds,
    drives,
    ec,
    rebuildMiBps,
    scrubIntervalSeconds: scrubIntervalSeconds ?? 0,
    scrubMiBps,
    indexCheckpointSeconds: indexCheckpointSeconds ?? 0,
  };
}

/** Parses `AMBER_SIGNAL_THRESHOLDS`: a JSON object of positive numbers. */
function parseThresholds(
  r: { value?: string; from: string },
  problems: string[],
): Record<string, number> {
  if (r.value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.value);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    problems.push(`Invalid signal thresholds (${r.from}): expected a JSON object`);
    return {};
  }
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== "number" || !(value > 0)) {
      problems.push(`Invalid signal threshold "${name}" (${r.from}): expected a positive number`);
    } else {
      out[name] = value;
    }
  }
  return out;
}

/**
 * Parses `AMBER_APPROVERS`: comma-separated `id=hmac:<secret>` or
 * `id=ed25519:<public key, 64 hex digits>`.
 */
function parseApprovers(
  r: { value?: string; from: string },
  problems: string[],
): Config["approvers"] {
  const out: Config["approvers"] = [];
  for (const item of (r.value ?? "").split(",").map((x) => x.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_-]{1,64})=(hmac|ed25519):(.+)$/.exec(item);
    const id = m?.[1] ?? item.split("=")[0];
    if (!m) {
      problems.push(
        `Invalid approver "${id}" (${r.from}): expected id=hmac:<secret> or id=ed25519:<64 hex digits>`,
      );
    } else if (m[2] === "hmac" && m[3].length < 16) {
      problems.push(
        `Invalid approver "${id}" (${r.from}): an HMAC secret needs 16 or more characters`,
      );
    } else if (m[2] === "ed25519" && !/^[0-9a-fA-F]{64}$/.test(m[3])) {
      problems.push(`Invalid approver "${id}" (${r.from}): an Ed25519 public key is 64 hex digits`);
    } else if (out.some((a) => a.id === id)) {
      problems.push(`Invalid approver "${id}" (${r.from}): named twice`);
    } else {
      out.push({ id, kind: m[2] as "hmac" | "ed25519", key: m[3] });
    }
  }
  return out;
}

/**
 * Parses a duration: whole seconds, or a number with `s`, `m`, `h` or `d`.
 *
 * @example
 * ```ts
 * import { parseDurationSeconds } from "./config.ts";
 * if (parseDurationSeconds("7d") !== 604800) throw new Error("days");
 * ```
 *
 * @param text The duration.
 * @returns Seconds, or undefined when it is not a duration.
 */
export function parseDurationSeconds(text: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2]]!;
  return Number(match[1]) * unit;
}

/**
 * Loads the configuration of this process (its flags, environment and
 * working directory); on bad settings prints one `amber:` line each and
 * exits 1, with no stack trace.
 *
 * @param args The setting flags. @default Deno.args
 * @returns The configuration.
 */
export function configFromProcess(args: string[] = Deno.args): Config {
  try {
    return loadConfig({
      args,
      env: (n) => Deno.env.get(n),
      readFile: Deno.readTextFileSync,
      cwd: Deno.cwd(),
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const line of e.lines) console.error(`amber: ${line}`);
    Deno.exit(1);
  }
}
