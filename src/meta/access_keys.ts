/**
 * Managed access keys in the index: grants in the clear, secrets sealed by
 * the store under the vault's secrets key (the index never sees them in the
 * clear). Revoking deletes the row.
 *
 * @module
 */

import type { AccessKeyChange, AccessKeyInfo, StoredAccessLevel } from "../channel/mod.ts";
import type { Db } from "./db.ts";
import { MetaError } from "./errors.ts";
import { parseUploadWindows } from "./policy.ts";

interface KeyRow {
  access_key: string;
  sealed_secret: string;
  level: string;
  buckets: string;
  bypass_governance: number;
  allow_from: string;
  upload_anytime: number;
  upload_windows: string;
  created: number;
  updated: number;
}

function infoOf(row: KeyRow): AccessKeyInfo {
  return {
    accessKey: row.access_key,
    level: row.level as StoredAccessLevel,
    buckets: JSON.parse(row.buckets),
    bypassGovernance: row.bypass_governance === 1,
    allowFrom: JSON.parse(row.allow_from),
    uploadAnytime: row.upload_anytime === 1,
    uploadWindows: JSON.parse(row.upload_windows),
    created: row.created,
    updated: row.updated,
  };
}

function rowOf(db: Db, accessKey: string): KeyRow {
  const row = db.get<KeyRow>("SELECT * FROM access_keys WHERE access_key = ?", accessKey);
  if (!row) {
    throw new MetaError("noSuchAccessKey", `Access key "${accessKey}" does not exist`, {
      accessKey,
    });
  }
  return row;
}

function save(db: Db, key: AccessKeyInfo, sealedSecret: string): void {
  let windows;
  try {
    windows = parseUploadWindows(key.uploadWindows);
  } catch (e) {
    throw new MetaError(
      "invalidPolicy",
      `Invalid upload windows for access key "${key.accessKey}": ${(e as Error).message}`,
    );
  }
  db.run(
    `INSERT OR REPLACE INTO access_keys(access_key, sealed_secret, level, buckets, bypass_governance,
       allow_from, upload_anytime, upload_windows, created, updated) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    key.accessKey,
    sealedSecret,
    key.level,
    JSON.stringify(key.buckets),
    key.bypassGovernance ? 1 : 0,
    JSON.stringify(key.allowFrom),
    key.uploadAnytime ? 1 : 0,
    JSON.stringify(windows),
    key.created,
    key.updated,
  );
}

/** Adds a key; refuses an access key id that is already taken. */
export function addAccessKey(
  db: Db,
  req: { record: AccessKeyInfo & { sealedSecret: string } },
): AccessKeyInfo {
  const { sealedSecret, ...key } = req.record;
  if (db.get("SELECT 1 AS x FROM access_keys WHERE access_key = ?", key.accessKey)) {
    throw new MetaError("accessKeyExists", `Access key "${key.accessKey}" already exists`, {
      accessKey: key.accessKey,
    });
  }
  save(db, key, sealedSecret);
  return key;
}

/** Applies a change to a key inside the transaction, so concurrent changes do not overwrite each other. */
export function setAccessKey(
  db: Db,
  req: { accessKey: string; change: AccessKeyChange; now: number },
): AccessKeyInfo {
  const row = rowOf(db, req.accessKey);
  const old = infoOf(row);
  const c = req.change;
  const buckets: Record<string, StoredAccessLevel> = c.replaceBuckets ? {} : { ...old.buckets };
  for (const [bucket, level] of Object.entries(c.buckets ?? {})) {
    if (level === null) delete buckets[bucket];
    else buckets[bucket] = level;
  }
  const key: AccessKeyInfo = {
    ...old,
    level: c.level ?? old.level,
    buckets,
    bypassGovernance: c.bypassGovernance ?? old.bypassGovernance,
    allowFrom: c.allowFrom ?? old.allowFrom,
    uploadAnytime: c.uploadAnytime ?? old.uploadAnytime,
    uploadWindows: c.uploadWindows ?? old.uploadWindows,
    updated: req.now,
  };
  save(db, key, c.sealedSecret ?? row.sealed_secret);
  return key;
}

/** Deletes a key. */
export function revokeAccessKey(db: Db, req: { accessKey: string }): { revoked: true } {
  rowOf(db, req.accessKey);
  db.run("DELETE FROM access_keys WHERE access_key = ?", req.accessKey);
  return { revoked: true };
}

/** One key with its sealed secret, for the router's signature checks. */
export function getAccessKey(
  db: Db,
  req: { accessKey: string },
): { key?: AccessKeyInfo & { sealedSecret: string } } {
  const row = db.get<KeyRow>("SELECT * FROM access_keys WHERE access_key = ?", req.accessKey);
  return row ? { key: { ...infoOf(row), sealedSecret: row.sealed_secret } } : {};
}

/** Every key without its secret, by access key id. */
export function listAccessKeys(db: Db): { keys: AccessKeyInfo[] } {
  return {
    keys: db.all<KeyRow>("SELECT * FROM access_keys ORDER BY access_key").map(infoOf),
  };
}

/** A secret-free description of a key's grants for the audit log. */
export function describeGrants(key: AccessKeyInfo, actor: string): string {
  const overrides = Object.entries(key.buckets).map(([b, l]) => ` ${b}:${l}`).join("");
  return `by=${actor} level=${key.level}${overrides}` +
    `${key.bypassGovernance ? " bypass-governance" : ""}` +
    `${key.allowFrom.length ? ` allow-from=${key.allowFrom.join(",")}` : ""}` +
    `${key.uploadAnytime ? " upload-anytime" : ""}` +
    `${
      key.uploadWindows.length
        ? ` upload-windows=${
          key.uploadWindows.map((w) => `${w.cron}@${w.durationMinutes}`).join(";")
        }`
        : ""
    }`;
}
