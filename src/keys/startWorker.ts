import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

/**
 * Starts a worker thread on the sibling module `name` of `importMetaUrl`, with the caller's own
 * extension, so the same code runs from src/*.ts under tsx and from the compiled dist/*.js.
 *
 * Node 20 does not apply `--import` loader hooks from a Worker's execArgv to the worker's entry
 * module (nodejs/node#47747), so a TypeScript entry is loaded through a bootstrap that registers
 * tsx in the worker first. tsx is only present in development, and only needed there.
 */
export function startWorker(importMetaUrl: string, name: string): Worker {
  const ext = extname(fileURLToPath(importMetaUrl));
  const entry = new URL(`./${name}${ext}`, importMetaUrl);
  if (ext !== ".ts") return new Worker(entry, { execArgv: process.execArgv });
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const bootstrap =
    `import(${JSON.stringify(tsxApi)})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, execArgv: process.execArgv });
}
