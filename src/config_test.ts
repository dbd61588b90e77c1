import assert from "node:assert/strict";
import { ConfigError, defaultEc, ENV_NAMES, loadConfig, usage } from "./config.ts";

function load(args: string[], env: Record<string, string> = {}, file = "{}") {
  return loadConfig({ args, env: (n) => env[n], readFile: () => file, cwd: "/work" });
}

function problems(args: string[], env: Record<string, string> = {}, file = "{}"): string[] {
  try {
    load(args, env, file);
  } catch (e) {
    if (e instanceof ConfigError) return e.lines;
    throw e;
  }
  return [];
}

Deno.test("loadConfig - defaults", () => {
  const c = load([]);
  assert.equal(c.host, "127.0.0.1");
  assert.equal(c.port, 8080);
  assert.equal(c.dataDir, "/work/data");
  assert.equal(c.vaultKey, undefined);
});

Deno.test("loadConfig - flags beat env beat file", () => {
  const file = JSON.stringify({ port: 7000, host: "0.0.0.0", dataDir: "/f" });
  assert.equal(load(["--config", "c.json"], {}, file).port, 7000);
  assert.equal(load(["--config", "c.json"], { AMBER_PORT: "7100" }, file).port, 7100);
  assert.equal(
    load(["--config=c.json", "--port", "7200"], { AMBER_PORT: "7100" }, file).port,
    7200,
  );
  assert.equal(load(["--data-dir", "../x"], { AMBER_DATA_DIR: "/e" }).dataDir, "/x");
  assert.equal(load([], { AMBER_CONFIG: "c.json" }, file).dataDir, "/f");
});

Deno.test("loadConfig - one line per bad setting, naming it", () => {
  const lines = problems(["--port", "99999", "--bogus"], {
    AMBER_ACCESS_KEY: "abc",
    AMBER_LOG_LEVEL: "loud",
  });
  assert.equal(lines.length, 4, lines.join("\n"));
  assert.ok(lines.some((l) => l.includes("--port") && l.includes("99999")));
  assert.ok(lines.some((l) => l.includes("--bogus")));
  assert.ok(lines.some((l) => l.includes("AMBER_SECRET_KEY")));
  assert.ok(lines.some((l) => l.includes("AMBER_LOG_LEVEL")));
  assert.ok(problems(["--config", "c.json"], {}, "[1]")[0].includes("Cannot read config file"));
  assert.ok(problems(["--config", "c.json"], {}, '{"prot": 1}')[0].includes('"prot"'));
});

Deno.test("usage - names every setting's flag and environment variable", () => {
  const text = usage();
  for (const name of ENV_NAMES) assert.ok(text.includes(name), name);
  assert.ok(text.includes("--data-dir") && text.includes("amber version"));
});

Deno.test("loadConfig - four-eyes approvers and quorum", () => {
  const pub = "ab".repeat(32);
  const c = load([], {
    AMBER_APPROVERS: `alice=hmac:0123456789abcdef, bob=ed25519:${pub}`,
    AMBER_DELETE_QUORUM: "2",
  });
  assert.equal(c.deleteQuorum, 2);
  assert.equal(c.approvalTtlSeconds, 3600);
  assert.deepEqual(c.approvers, [
    { id: "alice", kind: "hmac", key: "0123456789abcdef" },
    { id: "bob", kind: "ed25519", key: pub },
  ]);
  assert.deepEqual(
    problems([], {
      AMBER_APPROVERS: "alice=hmac:short,bob=ed25519:xyz,carol,alice=hmac:0123456789abcdef0",
      AMBER_DELETE_QUORUM: "3",
    }),
    [
      'Invalid approver "alice" (AMBER_APPROVERS): an HMAC secret needs 16 or more characters',
      'Invalid approver "bob" (AMBER_APPROVERS): an Ed25519 public key is 64 hex digits',
      'Invalid approver "carol" (AMBER_APPROVERS): expected id=hmac:<secret> or id=ed25519:<64 hex digits>',
      "Delete quorum 3 (AMBER_DELETE_QUORUM) needs at least that many AMBER_APPROVERS; 1 configured",
    ],
  );
});

Deno.test("loadConfig - drives default to one inside the data dir, at 1+0", () => {
  const c = load(["--data-dir", "/v"]);
  assert.deepEqual(c.drives, ["/v/store"]);
  assert.deepEqual(c.ec, { k: 1, m: 0 });
  assert.equal(c.rebuildMiBps, 64);
});

Deno.test("loadConfig - drives resolve, and parity defaults from their count", () => {
  const c = load([], { AMBER_DRIVES: "/d1, d2,/d3,/d4" });
  assert.deepEqual(c.drives, ["/d1", "/work/d2", "/d3", "/d4"]);
  assert.deepEqual(c.ec, { k: 2, m: 2 });
  assert.deepEqual(load(["--drives", "/a,/b,/c", "--ec", "1+2"]).ec, { k: 1, m: 2 });
});

Deno.test("defaultEc - grows parity with the drive count", () => {
  const table: [number, string][] = [
    [1, "1+0"],
    [2, "1+1"],
    [3, "2+1"],
    [4, "2+2"],
    [6, "4+2"],
    [9, "7+2"],
    [10, "7+3"],
    [16, "13+3"],
    [17, "13+4"],
  ];
  for (const [n, want] of table) {
    const { k, m } = defaultEc(n);
    assert.equal(`${k}+${m}`, want, `${n} drives`);
  }
});

Deno.test("loadConfig - bad drives and erasure settings get one line each", () => {
  assert.match(problems(["--drives", "/a,/a"])[0], /listed twice/);
  assert.match(problems(["--drives", " , "])[0], /list at least one/);
  assert.match(
    problems([], { AMBER_DRIVES: "/a,/b,/c,/d", AMBER_EC: "3+2" })[0],
    /^Invalid erasure coding "3\+2" \(AMBER_EC\): k\+m must equal the 4 drives/,
  );
  assert.match(problems(["--ec", "0+1", "--drives", "/a"])[0], /k at least 1/);
  assert.match(problems(["--ec", "two"])[0], /expected k\+m/);
  assert.match(problems(["--rebuild-rate", "0"])[0], /rebuild-rate/);
  assert.equal(problems(["--drives", "/a,/a", "--rebuild-rate", "-1"]).length, 2);
});

Deno.test("loadConfig - scrub interval takes durations; scrub rate defaults to derived", () => {
  assert.equal(load([]).scrubIntervalSeconds, 7 * 86400);
  assert.equal(load([]).scrubMiBps, 0);
  assert.equal(load(["--scrub-interval", "12h"]).scrubIntervalSeconds, 43200);
  assert.equal(load([], { AMBER_SCRUB_INTERVAL: "3600" }).scrubIntervalSeconds, 3600);
  assert.equal(load(["--scrub-rate", "2.5"]).scrubMiBps, 2.5);
  for (const bad of ["7 days", "-1d", "30", "1.5h"]) {
    assert.throws(() => load(["--scrub-interval", bad]), /scrub-interval/);
  }
  assert.throws(() => load(["--scrub-rate", "-1"]), /scrub-rate/);
});

Deno.test("loadConfig - intervals a timer cannot wait are refused, not run every millisecond", () => {
  assert.match(problems(["--gc-interval", "2592000"])[0], /gc-interval.*at most 2147483 s/);
  assert.match(problems([], { AMBER_INDEX_CHECKPOINT: "30d" })[0], /AMBER_INDEX_CHECKPOINT/);
  assert.equal(
    load(["--gc-interval", "2147483", "--index-checkpoint", "24d"]).gcIntervalSeconds,
    2147483,
  );
});

Deno.test("loadConfig - config-file values are typed: lists for drives, refused when of another type", () => {
  const file = (o: unknown) => ["--config", "c.json", JSON.stringify(o)] as const;
  const [a, b, text] = file({ drives: ["/srv/d1", "/srv/d2"], port: 9000 });
  const c = load([a, b], {}, text);
  assert.deepEqual([c.drives, c.port], [["/srv/d1", "/srv/d2"], 9000]);
  for (
    const bad of [{ dataDir: ["/var/lib/amber"] }, { port: "0x1f90" }, { vaultKey: true }, {
      drives: 3,
    }]
  ) {
    const [x, y, t] = file(bad);
    const lines = problems([x, y], {}, t);
    assert.equal(lines.length, 1, `${JSON.stringify(bad)}: ${lines.join(" | ")}`);
    assert.match(lines[0], new RegExp(`"?${Object.keys(bad)[0]}"?`));
  }
});
