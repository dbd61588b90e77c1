/**
 * The web console served at `/`: one embedded page whose script signs
 * standard S3 requests in the browser. See README "Web console".
 *
 * @module
 */

export { consoleResponse, wantsConsole } from "./page.ts";
