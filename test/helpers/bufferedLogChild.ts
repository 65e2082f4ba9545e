/**
 * A process that logs the way `serve` does (src/log.ts), for test/integration/log.test.ts: one line at
 * once, then, on SIGTERM, one more line and exit; it stays alive until then.
 */
import { bufferedStdout, createLogger } from "../../src/log.js";

const logger = createLogger("info", bufferedStdout());
logger.info({ secret: "hunter2" }, "first");
const alive = setInterval(() => undefined, 60_000);
process.once("SIGTERM", () => {
  logger.info("last");
  clearInterval(alive);
  process.exitCode = 0;
});
