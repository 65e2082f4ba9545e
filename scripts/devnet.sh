#!/usr/bin/env bash
# A real consensus client against this signer: ../shared/lodestar-devnet runs a Lodestar beacon
# node and validator client on 127.0.0.1 with every key on the signer, which runs on its default
# guards with the devnet's config file and genesis time. The signer is SIGKILLed and restarted mid-run
# (KILL_SIGNER_AT, default epoch 4); PASS needs the chain to finalize epoch 6 by epoch 10 with every
# returned signature verifying. Duties refused by the restart floor are expected (ALLOW_SIGN_ERRORS).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=${LODESTAR_DEVNET:-$ROOT/../shared/lodestar-devnet}
[ -x "$HARNESS/run.sh" ] || { echo "no Lodestar devnet harness at $HARNESS (set LODESTAR_DEVNET)" >&2; exit 1; }
[ -f "$ROOT/dist/cli/main.js" ] || (cd "$ROOT" && npm run build)
# The first install of Lodestar takes minutes; run.sh's wall-clock limit would count it.
"$HARNESS/setup.sh"
export SIGNER_CWD="$ROOT"
export SIGNER_CMD='exec node dist/cli/main.js serve --host "$SIGNER_HOST" --port "$SIGNER_PORT" --data-dir "$SIGNER_DATA_DIR" --keystores-dir "$SIGNER_KEYSTORES_DIR" --keystores-passwords-dir "$SIGNER_PASSWORDS_DIR" --network "$SIGNER_NETWORK_SPEC" --genesis-time "$GENESIS_TIME" --genesis-validators-root "$GENESIS_VALIDATORS_ROOT"'
export RUN_EPOCHS=${RUN_EPOCHS:-10} MIN_FINALIZED_EPOCH=${MIN_FINALIZED_EPOCH:-6} KILL_SIGNER_AT=${KILL_SIGNER_AT:-4} ALLOW_SIGN_ERRORS=${ALLOW_SIGN_ERRORS:-1}
exec "$HARNESS/run.sh"
