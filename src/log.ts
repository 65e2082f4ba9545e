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
