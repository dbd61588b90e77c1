/**
 * `deno task audit-verify <data-dir>`: the same command as
 * `amber audit-verify` (src/meta/audit_command.ts). Exit status 0 when the
 * audit chain is intact.
 *
 * @module
 */

import { auditVerifyCommand } from "../src/meta/mod.ts";

Deno.exit(auditVerifyCommand(Deno.args, "deno task audit-verify"));
