/**
 * Child process for the SIGKILL test: signs blocks for one key in concurrent bursts and prints each
 * slot only once its record is durable, i.e. at the moment a signer would release the signature.
 * Usage: node --import tsx test/helpers/slashingBurst.ts <sqlite-path>
 */
import { openSqliteStore } from "../../src/slashing/sqlite.js";
import { GVR, pubkey, root } from "./slashingBackends.js";

const store = await openSqliteStore(process.argv[2]!, { genesisValidatorsRoot: GVR });
for (let slot = 1; ; slot += 10) {
  await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const recorded = await store.checkAndRecordBlock({ pubkey: pubkey(1), genesisValidatorsRoot: GVR, slot: slot + i, signingRoot: root(1) });
      await recorded.durable();
      process.stdout.write(`${slot + i}\n`);
    }),
  );
}
