import { SignerError } from "../errors.js";

export type ConfigCode = "INVALID_CONFIG";

/** A setting (flag, environment variable, config file, network file) that cannot be used. */
export class ConfigError extends SignerError<ConfigCode> {
  readonly domain = "config";
}

declare module "../errors.js" {
  interface ErrorCodeRegistry {
    config: ConfigCode;
  }
}
