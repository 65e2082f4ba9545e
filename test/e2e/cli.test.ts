import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cli } from "../helpers/cli.js";
import { HELD_CLI, HOLD_RELEASE } from "../helpers/holdCommandsLoad.js";
import { costlyKeystore, randomKey, tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, blockBody, MAINNET_GVR, sign } from "../helpers/messages.js";
import { spawnSigner } from "../helpers/signer.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { checkAllowlist } from "../../src/tee/migration.js";
import { checkStatements } from "../../src/tee/verify/statements.js";

const VECTORS = new URL("../../../shared/vectors/tee/", import.meta.url).pathname;

describe("secure-signer CLI", () => {
  it("prints help, and refuses unknown commands and flags with usage (exit 2)", async () => {
    const help = await cli("--help");
    assert.equal(help.code, 0);
    for (const c of ["serve", "init", "keys", "slashing-protection", "verify-evidence", "tee"]) assert.match(help.stdout, new RegExp(`\\b${c}\\b`));
    const serveHelp = await cli("serve", "--help");
    assert.match(serveHelp.stdout, /--keystores-dir DIR/);
    assert.match(serveHelp.stdout, /SECURE_SIGNER_DATA_DIR/);
    assert.match(serveHelp.stdout, /--migrate-from URL .*--migration-allowlist FILE/s);
    const unknown = await cli("frobnicate");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const badFlag = await cli("serve", "--no-such-flag");
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /no-such-flag/);
    const badPort = await cli("serve", "--port", "http");
    assert.equal(badPort.code, 1);
    assert.match(badPort.stderr, /--port must be a number/);
  });

  it("tee sign-allowlist signs what the release secret file's seed allows, and refuses what is not a measurement (exit 2)", async (t) => {
    const dir = await tempDir(t, "cli-allowlist");
    const secretFile = join(dir, "release.hex");
    const seed = randomBytes(32);
    await writeFile(secretFile, `0x${seed.toString("hex")}\n`);
    const m = "ab".repeat(32);
    const signed = await cli("tee", "sign-allowlist", "--release-secret-key-file", secretFile, `0x${m.toUpperCase()}`, "cd".repeat(32));
    assert.equal(signed.code, 0, signed.stderr);
    const pub = ed25519.getPublicKey(new Uint8Array(seed));
    assert.deepEqual(checkAllowlist(JSON.parse(signed.stdout), pub), new Set([m, "cd".repeat(32)]));
    assert.throws(() => checkAllowlist(JSON.parse(signed.stdout), ed25519.getPublicKey(ed25519.utils.randomSecretKey())), /not signed by the release key/);
    const key = await cli("tee", "release-key", "--release-secret-key-file", secretFile);
    assert.equal(key.stdout.trim(), `0x${Buffer.from(pub).toString("hex")}`);
    const notHex = await cli("tee", "sign-allowlist", "--release-secret-key-file", secretFile, "0x1234");
    assert.equal(notHex.code, 2);
    assert.match(notHex.stderr, /measurement "0x1234": give 32 bytes as hex/);
    const none = await cli("tee", "sign-allowlist", "--release-secret-key-file", secretFile);
    assert.equal(none.code, 2);
    await writeFile(secretFile, "00");
    const short = await cli("tee", "release-key", "--release-secret-key-file", secretFile);
    assert.equal(short.code, 1);
    assert.match(short.stderr, /release secret key file .* must be 32 bytes, got 1/);
  });

  it("keys generate --withdrawal-address signs each deposit inside, and the running signer states it generated with that deposit", async (t) => {
    const dir = await tempDir(t, "cli-deposit");
    const dataDir = join(dir, "data");
    const generated = await cli("keys", "generate", "--count", "2", "--withdrawal-address", "0x" + "5e".repeat(20), "--data-dir", dataDir);
    assert.equal(generated.code, 0, generated.stderr);
    const deposits = JSON.parse(generated.stdout) as Array<{ pubkey: string; withdrawal_credentials: string; amount: number; fork_version: string; deposit_data_root: string }>;
    assert.equal(deposits.length, 2);
    assert.equal(deposits[0]!.withdrawal_credentials, "01" + "00".repeat(11) + "5e".repeat(20));
    const signer = await spawnSigner(["--data-dir", dataDir, "--startup-floor-epochs", "off", "--log-level", "warn"]);
    try {
      const evidence = (await (await fetch(`${signer.url}/eth/v1/evidence`)).json()) as { reportData: string; transportPublicKey: string; identityPublicKey: string; statements: unknown[] };
      const r = checkStatements(new Uint8Array(Buffer.from(evidence.reportData.slice(2), "hex")), evidence, { depositData: deposits });
      assert.deepEqual(r.checks.filter((c) => !c.ok), []);
      assert.deepEqual(r.keys?.map((k) => k.origin), ["generated", "generated"]);
    } finally {
      signer.child.kill("SIGTERM");
      await signer.exited;
    }
  });

  it("generated keys are sealed, served after a restart, and their slashing data round-trips through export and import", async (t) => {
    const dir = await tempDir(t, "cli");
    const dataDir = join(dir, "data");
    const generated = await cli("keys", "generate", "--count", "2", "--data-dir", dataDir);
    assert.equal(generated.code, 0, generated.stderr);
    const pubkeys = generated.stdout.trim().split("\n");
    assert.equal(pubkeys.length, 2);
    assert.match(generated.stderr, /^recovery: none: .*never exported.*withdrawal address/m);
    for (const p of pubkeys) assert.match(p, /^0x[0-9a-f]{96}$/);
    assert.deepEqual((await cli("keys", "list", "--data-dir", dataDir)).stdout.trim().split("\n").sort(), [...pubkeys].sort());

    const signer = await spawnSigner(["--data-dir", dataDir, "--startup-floor-epochs", "off", "--log-level", "warn"]);
    const listed = (await (await fetch(`${signer.url}/api/v1/eth2/publicKeys`)).json()) as string[];
    assert.deepEqual([...listed].sort(), [...pubkeys].sort());
    assert.equal((await sign(signer.url, pubkeys[0]!, attestationBody(5, 6))).status, 200);
    assert.equal((await sign(signer.url, pubkeys[0]!, blockBody(300))).status, 200);
    signer.child.kill("SIGTERM");
    assert.equal(await signer.exited, 0, "SIGTERM shuts down cleanly");

    const exportFile = join(dir, "interchange.json");
    const exported = await cli("slashing-protection", "export", "--data-dir", dataDir, "--out", exportFile);
    assert.equal(exported.code, 0, exported.stderr);
    const interchange = JSON.parse(await readFile(exportFile, "utf8")) as {
      metadata: { genesis_validators_root: string };
      data: Array<{ pubkey: string; signed_blocks: Array<{ slot: string }>; signed_attestations: Array<{ target_epoch: string }> }>;
    };
    assert.equal(interchange.metadata.genesis_validators_root, MAINNET_GVR);
    const entry = interchange.data.find((d) => d.pubkey === pubkeys[0]);
    assert.deepEqual(entry?.signed_blocks.map((b) => b.slot), ["300"]);
    assert.deepEqual(entry?.signed_attestations.map((a) => a.target_epoch), ["6"]);

    // Into a fresh signer's database: the imported history refuses the conflicting twins.
    const otherData = join(dir, "other");
    const imported = await cli("slashing-protection", "import", exportFile, "--data-dir", otherData);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /1 blocks and 1 attestations added/);
    const bad = join(dir, "bad.json");
    await writeFile(bad, JSON.stringify({ ...interchange, metadata: { ...interchange.metadata, genesis_validators_root: "0x" + "11".repeat(32) } }));
    const refused = await cli("slashing-protection", "import", bad, "--data-dir", otherData);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /genesis/i);

    const reexported = await cli("slashing-protection", "export", "--data-dir", otherData);
    assert.equal(reexported.code, 0, reexported.stderr);
    assert.deepEqual(JSON.parse(reexported.stdout), interchange, "the other database holds exactly what was exported");
  });

  it("leaves no configfs-tsm report entry behind, whichever command ran and however it ended", async (t) => {
    // A plain directory stands in for /sys/kernel/config/tsm/report: each tsm platform makes its
    // entry there on start, and an entry left behind would stay in the kernel until reboot.
    const dir = await tempDir(t, "cli-tsm");
    const reportDir = join(dir, "report");
    await mkdir(reportDir);
    const keyFile = join(dir, "sealing.key");
    await writeFile(keyFile, randomBytes(32));
    const flags = ["--data-dir", join(dir, "data"), "--platform", "tsm", "--tsm-report-dir", reportDir, "--tsm-sealing-key-file", keyFile];
    const runs = [
      await cli("init", ...flags),
      await cli("keys", "generate", "--count", "2", ...flags),
      await cli("keys", "list", ...flags),
      await cli("keys", "transport-key", ...flags),
      await cli("keys", "delete", "0x" + "ab".repeat(48), ...flags),
    ];
    assert.deepEqual(runs.map((r) => r.code), [0, 0, 0, 0, 1], runs.map((r) => r.stderr).join("\n"));
    assert.equal(runs[2]!.stdout.trim().split("\n").length, 2, "the generated keys are listed");
    assert.deepEqual(await readdir(reportDir), []);
  });

  it("ends on a SIGHUP as usual when the command is not serve, even one received while its modules load", async (t) => {
    const dir = await tempDir(t, "cli-sighup");
    const release = join(dir, "release");
    const child = spawn(process.execPath, [...HELD_CLI, "keys", "list", "--data-dir", dir], {
      env: { ...process.env, [HOLD_RELEASE]: release },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = once(child, "exit");
    await once(child.stdout!, "data");
    child.kill("SIGHUP");
    await writeFile(release, "");
    assert.deepEqual(await exited, [null, "SIGHUP"]);
  });

  it("verify-evidence exits 0 on a real quote and 1 on a tampered one, a stale nonce or missing expectations", async (t) => {
    const quote = join(VECTORS, "sgx-dcap-v3.quote");
    const at = ["--at", "2025-07-01T00:00:00Z"];
    const expect = ["--expected-measurement", "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"];
    const collateral = ["--collateral", join(VECTORS, "sgx-dcap-v3.collateral.json"), "--accept-tcb-status", "ConfigurationAndSWHardeningNeeded"];
    const ok = await cli("verify-evidence", quote, ...expect, ...collateral, ...at);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^VERIFIED: /);
    const bad = await cli("verify-evidence", join(VECTORS, "tampered/sgx-dcap-v3.qereport-flipped.quote"), ...expect, ...collateral, ...at);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^REFUSED/);
    assert.match(bad.stdout, /FAIL\] QE_REPORT_SIGNATURE/);
    const stale = await cli("verify-evidence", quote, ...expect, ...collateral, ...at, "--nonce", "0x" + "11".repeat(32));
    assert.equal(stale.code, 1);
    assert.match(stale.stdout, /FAIL\] NONCE/);
    const bare = await cli("verify-evidence", quote, ...at);
    assert.equal(bare.code, 1);
    assert.match(bare.stdout, /FAIL\] COLLATERAL[\s\S]*FAIL\] MEASUREMENT/);
    const waived = await cli("verify-evidence", quote, "--any-measurement", "--no-collateral", ...at);
    assert.equal(waived.code, 0, waived.stdout);
    assert.match(waived.stdout, /^VERIFIED WITHOUT COLLATERAL FOR ANY MEASUREMENT: /);
    // A deposit can only be vouched for by a v2 key statement, which a raw quote has none of.
    const depositFile = join(await tempDir(t, "verify-deposit"), "deposit_data.json");
    await writeFile(depositFile, JSON.stringify([{ pubkey: "ab".repeat(48), withdrawal_credentials: "01".repeat(32), amount: 1, fork_version: "00000000", deposit_data_root: "02".repeat(32) }]));
    const deposit = await cli("verify-evidence", quote, "--any-measurement", "--no-collateral", ...at, "--deposit-data", depositFile);
    assert.equal(deposit.code, 1);
    assert.match(deposit.stderr, /deposit data can be checked only against evidence v2/);
  });

  it("keys import refuses a keystore costlier than --max-keystore-kdf-cost allows, naming the bound, and takes it with the bound raised", async (t) => {
    const dir = await tempDir(t, "cli-kdf");
    await mkdir(join(dir, "ks"));
    const key = randomKey();
    await writeFile(join(dir, "ks", "k.json"), JSON.stringify(await costlyKeystore(key, "pw", 2)));
    await writeFile(join(dir, "ks", "k.txt"), "pw");
    const args = ["keys", "import", join(dir, "ks"), "--passwords-dir", join(dir, "ks"), "--data-dir", join(dir, "data")];
    const refused = await cli(...args);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /k\.json: pbkdf2 c=524288 costs 2× staking-deposit-cli's .*; at most 1× is accepted \(--max-keystore-kdf-cost\)/);
    assert.match(refused.stdout, /0 imported/);
    const invalid = await cli(...args, "--max-keystore-kdf-cost", "0");
    assert.equal(invalid.code, 1, invalid.stderr);
    assert.match(invalid.stderr, /--max-keystore-kdf-cost: Expected number to be greater than 0/);
    const raised = await cli(...args, "--max-keystore-kdf-cost", "2");
    assert.equal(raised.code, 0, raised.stderr);
    assert.match(raised.stdout, new RegExp(`imported ${key.pubkey}`));
  });

  it("encrypt-for-signer encrypts only to a key evidence verifies, or a bare key with the insecure flag", async (t) => {
    const dir = await tempDir(t, "cli-encrypt");
    await mkdir(join(dir, "keystores"));
    const dirs = ["--keystores-dir", join(dir, "keystores"), "--passwords-dir", join(dir, "keystores"), "--out", join(dir, "out.json")];
    const bare = await cli("keys", "encrypt-for-signer", "--signer-key", "0x" + "42".repeat(32), ...dirs);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /needs --evidence FILE \(or --signer-key HEX with --insecure-unverified-signer-key\)/);
    // Genuine Intel evidence, but its report data does not bind the transport key the file states.
    const evidence = join(dir, "evidence.json");
    const quote = await readFile(join(VECTORS, "sgx-dcap-v3.quote"));
    await writeFile(evidence, JSON.stringify({ format: "sgx-dcap", quote: quote.toString("base64"), transportPublicKey: "0x" + "42".repeat(32), blsPubkeys: [] }));
    const expectations = ["--any-measurement", "--no-collateral", "--at", "2025-07-01T00:00:00Z"];
    const refused = await cli("keys", "encrypt-for-signer", "--evidence", evidence, ...expectations, ...dirs);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /evidence refused, not encrypting to it: REPORT_DATA/);
    await assert.rejects(readFile(join(dir, "out.json")));
    const insecure = await cli("keys", "encrypt-for-signer", "--signer-key", "0x" + "42".repeat(32), "--insecure-unverified-signer-key", ...dirs);
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.match(await readFile(join(dir, "out.json"), "utf8"), /transport_encrypted/);
  });
});
