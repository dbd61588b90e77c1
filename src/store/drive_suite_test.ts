import { realDrive } from "./drive_io.ts";
import { runDriveSuite } from "./drive_suite.ts";
import { FaultyDrive } from "./faulty_drive.ts";

runDriveSuite("real drive", () => realDrive);
runDriveSuite("faulty drive, no fault armed", () => new FaultyDrive());
