/**
 * Replaying the index journal: SQLite changesets, one per group commit,
 * applied in order with the triggers off (each record already holds every row
 * its batch wrote, the triggers' ones included). Shared by the index, which
 * brings itself up to date at start, and by `rebuild-index`.
 *
 * @module
 */

import { constants, type DatabaseSync } from "node:sqlite";

/**
 * Applies changesets to an open index in one transaction.
 *
 * @param db The index connection (no transaction open).
 * @param changesets In sequence order.
 * @returns Rows that conflicted (the record's row wins).
 */
export function applyChangesets(db: DatabaseSync, changesets: Iterable<Uint8Array>): number {
  let conflicts = 0;
  const triggers = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    .all() as { name: string; sql: string }[];
  db.exec("BEGIN");
  try {
    for (const t of triggers) db.exec(`DROP TRIGGER "${t.name.replaceAll('"', '""')}"`);
    for (const changeset of changesets) {
      db.applyChangeset(changeset, {
        onConflict: (kind) => {
          conflicts++;
          // A row that is there but differs, or a key taken: the record's row wins.
          return kind === constants.SQLITE_CHANGESET_DATA ||
              kind === constants.SQLITE_CHANGESET_CONFLICT
            ? constants.SQLITE_CHANGESET_REPLACE
            : constants.SQLITE_CHANGESET_OMIT;
        },
      });
    }
    for (const t of triggers) db.exec(t.sql);
    db.exec("COMMIT");
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  }
  return conflicts;
}

/**
 * What SQLite's own check finds wrong with an index, or undefined when
 * nothing: a damaged page is otherwise served (wrong or failing listings) and
 * copied into the next checkpoint over the good one.
 *
 * @param db The index.
 * @param check `quick_check` (at start: pages and records) or `integrity_check` (indexes too).
 * @returns The first problems found, joined.
 */
export function indexDamage(
  db: DatabaseSync,
  check: "quick_check" | "integrity_check",
): string | undefined {
  let rows: { [k: string]: unknown }[];
  try {
    rows = db.prepare(`PRAGMA ${check}(5)`).all() as { [k: string]: unknown }[];
  } catch (e) {
    return (e as Error).message;
  }
  const found = rows.map((r) => String(Object.values(r)[0]));
  return found.length === 1 && found[0] === "ok" ? undefined : found.join("; ");
}
