/**
 * The boto3 suite: `boto3_suite.py` under Debian's `/usr/bin/python3`
 * (python3-boto3), which reports one line per case.
 *
 * @module
 */

import { type CaseResult, run, type Suite, tail, type Target } from "./lib.ts";

/** Debian's interpreter; a pyenv `python3` earlier on PATH lacks Debian's boto3. */
export const PYTHON_BIN = "/usr/bin/python3";

const SCRIPT = new URL("./boto3_suite.py", import.meta.url).pathname;

/**
 * Builds the boto3 suite.
 *
 * @param t Endpoint, credentials and work dir.
 * @returns The suite.
 */
export function boto3Suite(t: Target): Suite {
  const env = {
    AMBER_ENDPOINT: t.endpoint,
    AMBER_WORK_DIR: `${t.workDir}/boto3`,
    AWS_ACCESS_KEY_ID: t.accessKey,
    AWS_SECRET_ACCESS_KEY: t.secretKey,
    AWS_DEFAULT_REGION: t.region,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: `${t.workDir}/boto3/no-config`,
    AWS_SHARED_CREDENTIALS_FILE: `${t.workDir}/boto3/no-credentials`,
    HOME: `${t.workDir}/boto3`,
  };
  return {
    client: "boto3",
    bin: PYTHON_BIN,
    pkg: "python3-boto3",
    cases: [],
    async external(record) {
      const list = await run(PYTHON_BIN, [SCRIPT, "--list"], { env });
      const names = list.stdout.split("\n").map((l) => l.trim()).filter(Boolean);
      if (list.code !== 0 || names.length === 0) {
        record({
          name: "boto3 - list the cases",
          ok: false,
          ms: 0,
          detail: `${PYTHON_BIN} ${SCRIPT} --list failed (exit ${list.code}):\n${
            tail(list.stderr)
          }`,
        });
        return;
      }
      const start = Date.now();
      const out = await run(PYTHON_BIN, [SCRIPT], { env });
      const seen = new Map<string, CaseResult>();
      for (const line of out.stdout.split("\n")) {
        const [tag, verdict, name, secs, reason] = line.split("\t");
        if (tag !== "RESULT" || !name) continue;
        const ok = verdict === "PASS";
        seen.set(name, {
          name,
          ok,
          ms: Math.round(Number(secs) * 1000) || 0,
          detail: ok ? undefined : reason,
        });
      }
      for (const name of names) {
        const r = seen.get(name) ?? {
          name,
          ok: false,
          ms: 0,
          detail: `did not report: boto3_suite.py exited ${out.code} after ${
            Date.now() - start
          } ms\n${tail(out.stderr)}`,
        };
        record(r);
      }
    },
  };
}
