import { randomBytes } from "node:crypto";

/** The key of a database's id in each backend's meta table (identity.ts says what it is for). */
export const DATABASE_ID_KEY = "database_id";

export function newDatabaseId(): string {
  return randomBytes(16).toString("hex");
}
