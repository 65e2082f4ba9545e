import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/config.js";
import { ConfigError } from "../../src/config/errors.js";

const dir = mkdtempSync(join(tmpdir(), "config-test-"));
function file(content: unknown): string {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

describe("configuration", () => {
  it("takes each setting from the flag, else the environment, else the config file, else the default", () => {
    const config = file({ port: 7001, host: "127.0.0.2", "log-level": "debug", "body-limit": 5000 });
    const c = loadConfig(
      { config, port: "7003" },
      { SECURE_SIGNER_PORT: "7002", SECURE_SIGNER_HOST: "127.0.0.3" },
    );
    assert.equal(c.port, 7003, "flag beats environment and file");
    assert.equal(c.host, "127.0.0.3", "environment beats file");
    assert.equal(c.logLevel, "debug", "file beats default");
    assert.equal(c.bodyLimit, 5000);
    assert.equal(c.network, "mainnet", "default");
    assert.equal(c.startupFloorEpochs, 1);
    const fromEnvFile = loadConfig({}, { SECURE_SIGNER_CONFIG: config });
    assert.equal(fromEnvFile.port, 7001, "the config file can be named in the environment");
  });

  it("parses booleans, lists, 'off' and resolves paths", () => {
    const c = loadConfig(
      { "require-attested": true, "host-allowlist": "LocalHost, 127.0.0.1", "startup-floor-epochs": "off", "data-dir": "rel/dir" },
      { SECURE_SIGNER_PRUNE_INTERVAL_MINUTES: "0", SECURE_SIGNER_TLS_CERT: "c.pem", SECURE_SIGNER_TLS_KEY: "/abs/k.pem" },
    );
    assert.equal(c.requireAttested, true);
    assert.deepEqual(c.hostAllowlist, ["localhost", "127.0.0.1"]);
    assert.equal(c.startupFloorEpochs, "off");
    assert.equal(c.pruneIntervalMinutes, 0);
    assert.equal(c.dataDir, join(process.cwd(), "rel/dir"));
    assert.equal(c.tlsCert, join(process.cwd(), "c.pem"));
    assert.equal(c.tlsKey, "/abs/k.pem");
    assert.equal(c.network, "mainnet");
    assert.equal(c.slashingDbTimeoutMs, 3000);
    assert.equal(loadConfig({}, { SECURE_SIGNER_REQUIRE_ATTESTED: "false" }).requireAttested, false);
  });

  const bad: Array<[string, () => unknown, RegExp]> = [
    ["a port that is not a number", () => loadConfig({ port: "http" }, {}), /--port must be a number, got "http"/],
    ["a port out of range", () => loadConfig({ port: "70000" }, {}), /--port/],
    ["a bad environment value", () => loadConfig({}, { SECURE_SIGNER_REQUIRE_ATTESTED: "maybe" }), /SECURE_SIGNER_REQUIRE_ATTESTED must be true or false/],
    ["an unknown platform", () => loadConfig({ platform: "sgx" }, {}), /--platform/],
    ["an unknown log level", () => loadConfig({ "log-level": "loud" }, {}), /--log-level/],
    ["a non-postgres database URL", () => loadConfig({ "slashing-db": "mysql://x" }, {}), /--slashing-db/],
    ["zero BLS threads", () => loadConfig({ "bls-threads": "0" }, {}), /--bls-threads/],
    ["a fractional BLS thread count", () => loadConfig({ "bls-threads": "1.5" }, {}), /--bls-threads/],
    ["a bad floor", () => loadConfig({ "startup-floor-epochs": "soon" }, {}), /--startup-floor-epochs/],
    ["a database timeout below 100 ms", () => loadConfig({ "slashing-db-timeout-ms": "50" }, {}), /--slashing-db-timeout-ms/],
    ["a fractional database timeout", () => loadConfig({ "slashing-db-timeout-ms": "1500.5" }, {}), /--slashing-db-timeout-ms/],
    ["tls-cert without tls-key", () => loadConfig({ "tls-cert": "c.pem" }, {}), /--tls-cert and --tls-key go together/],
    ["client CA without TLS", () => loadConfig({ "tls-client-ca": "ca.pem" }, {}), /--tls-client-ca needs --tls-cert/],
    ["keystores without passwords", () => loadConfig({ "keystores-dir": "k" }, {}), /--keystores-dir and --keystores-passwords-dir go together/],
    ["an unknown key in the file", () => loadConfig({ config: file({ prot: 1 }) }, {}), /unknown setting "prot"/],
    ["a file that is not JSON", () => loadConfig({ config: file("port: 1") }, {}), /config file .*: /],
    ["a file that is not an object", () => loadConfig({ config: file([1]) }, {}), /must hold a JSON object/],
    ["a wrong type in the file", () => loadConfig({ config: file({ port: "x" }) }, {}), /port in config file .* must be a number/],
  ];
  for (const [name, run, message] of bad) {
    it(`refuses ${name} with a message naming it`, () => {
      assert.throws(run, (e: unknown) => e instanceof ConfigError && message.test(e.message));
    });
  }
});
