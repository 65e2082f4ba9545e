import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPlatform, type PlatformKind } from "../../src/tee/index.js";
import { TeeError } from "../../src/tee/errors.js";

const isTee = (code: string, re: RegExp) => (e: unknown) => e instanceof TeeError && e.code === code && re.test(e.message);

describe("createPlatform", () => {
  it("builds each backend from its options", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "platform-dev-"));
    const dev = await createPlatform("dev", { dataDir });
    assert.equal(dev.name, "dev");
    assert.equal(dev.attested, false);

    const gramineRoot = mkdtempSync(join(tmpdir(), "platform-gramine-"));
    mkdirSync(join(gramineRoot, "keys"));
    writeFileSync(join(gramineRoot, "attestation_type"), "dcap");
    writeFileSync(join(gramineRoot, "keys", "_sgx_mrsigner"), randomBytes(16));
    // A data directory per platform: the state master key each one seals opens on that one only.
    const gramine = await createPlatform("gramine-sgx", { dataDir: `${dataDir}-gramine`, requireAttested: true, gramine: { root: gramineRoot, sealingKey: "mrsigner" } });
    assert.equal(gramine.name, "gramine-sgx");
    assert.equal(gramine.attested, true);

    const tsmRoot = mkdtempSync(join(tmpdir(), "platform-tsm-"));
    const keyFile = join(tsmRoot, "..", `${tsmRoot.split("/").pop()}.key`);
    writeFileSync(keyFile, randomBytes(32));
    const tsm = await createPlatform("tsm", { dataDir: `${dataDir}-tsm`, requireAttested: true, tsm: { root: tsmRoot, sealing: { keyFile } } });
    assert.equal(tsm.name, "tsm");
    assert.equal(tsm.attested, true);
  });

  it("refuses the dev platform when attestation is required, before creating its secret", async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), "platform-req-")), "data");
    await assert.rejects(createPlatform("dev", { dataDir, requireAttested: true }), isTee("NOT_ATTESTED", /"dev" is not attested/));
    assert.equal(existsSync(dataDir), false);
  });

  it("refuses tsm without a sealing key and unknown kinds", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "platform-x-"));
    await assert.rejects(createPlatform("tsm", { dataDir }), isTee("PLATFORM_UNAVAILABLE", /sealing key file/));
    await assert.rejects(createPlatform("sev" as PlatformKind, { dataDir }), isTee("PLATFORM_UNAVAILABLE", /unknown TEE platform "sev"/));
  });
});
