// Builds dist/ from src/: a clean tsc build (so a module deleted from src/ leaves no stale .js in a
// packed tarball), then every file tsc does not emit (.sql migrations, certificates …) copied beside
// the compiled modules, where `new URL("./x.sql", import.meta.url)` finds it in dist/ as in src/.
import { spawnSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

rmSync(`${root}dist`, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, "-p", `${root}tsconfig.build.json`], { stdio: "inherit" });
if (result.status !== 0) process.exit(result.status ?? 1);
cpSync(`${root}src`, `${root}dist`, {
  recursive: true,
  filter: (source) => !source.endsWith(".ts"),
});
