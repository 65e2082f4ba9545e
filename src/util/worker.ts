import { Worker, type WorkerOptions } from "node:worker_threads";

/** A message to a worker before the sender numbers it: `Omit<…, "id">` applied to each member of a union. */
export type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/**
 * Starts the worker module `name` that sits beside `metaUrl`. From dist/ it is plain JavaScript.
 * Under tsx (tests, `npm run bench`) it is a .ts file, and Node 20 does not apply the parent's
 * `--import tsx` hooks to a worker's entry, so the worker registers tsx itself before importing it.
 */
export function startWorker(metaUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!metaUrl.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, metaUrl), options);
  const entry = new URL(`./${name}.ts`, metaUrl).href;
  const bootstrap = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
