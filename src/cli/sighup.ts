/**
 * SIGHUP asks `serve` to reload its keystore directory, but Node's default for it is to exit, and
 * serve.ts can listen for it only once the command modules have loaded (about 0.4 s). main.ts
 * holds a SIGHUP from before it loads them, and serve.ts takes over the holding: one that came
 * meanwhile reloads once the signer has started, like one during start-up.
 */
let held = false;
const hold = (): void => {
  held = true;
};

export function holdSighup(): void {
  process.on("SIGHUP", hold);
}

/** Stops holding SIGHUP; whether one came while it was held. */
export function takeHeldSighup(): boolean {
  process.off("SIGHUP", hold);
  return held;
}
