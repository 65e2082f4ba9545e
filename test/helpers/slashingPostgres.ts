import type { Backend } from "./slashingBackends.js";

/** Filled in with the PostgreSQL backend. */
export async function postgresBackendIfAvailable(): Promise<Backend | null> {
  return null;
}
