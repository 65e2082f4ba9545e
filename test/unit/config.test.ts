import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { loadConfig, networkSetting } from "../../src/config/config.js";
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
    assert.equal(c.startupFloorEpochs, 0);
    assert.equal(c.clockSkewSlots, 2);
    assert.equal(c.continuityWindowEpochs, 2);
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
    assert.equal(loadConfig({ "clock-skew-slots": "off" }, {}).clockSkewSlots, "off");
    assert.equal(loadConfig({ "clock-skew-slots": "5" }, {}).clockSkewSlots, 5);
    assert.throws(() => loadConfig({ "clock-skew-slots": "33" }, {}), /--clock-skew-slots/);
    assert.equal(c.pruneIntervalMinutes, 0);
    assert.equal(c.dataDir, join(process.cwd(), "rel/dir"));
    assert.equal(c.tlsCert, join(process.cwd(), "c.pem"));
    assert.equal(c.tlsKey, "/abs/k.pem");
    assert.equal(c.network, "mainnet");
    assert.equal(c.slashingDbTimeoutMs, 3000);
    assert.equal(loadConfig({}, { SECURE_SIGNER_REQUIRE_ATTESTED: "false" }).requireAttested, false);
  });

  it("reads a YAML config file, the JSON of earlier versions, and lists as comma lists", () => {
    const yaml = file(
      [
        "# secure-signer",
        "port: 7001",
        "network: hoodi",
        "genesis-validators-root: 0x212f13fc4df078b6cb7db228f1c8307566dcecf900867401a92023d7ba99cb5f # unquoted hex stays text",
        "require-attested: true",
        "startup-floor-epochs: off",
        "host-allowlist: [LocalHost, 127.0.0.1]",
        "",
      ].join("\n"),
    );
    const c = loadConfig({ config: yaml }, {});
    assert.equal(c.port, 7001);
    assert.equal(c.network, "hoodi");
    assert.equal(c.genesisValidatorsRoot, "0x212f13fc4df078b6cb7db228f1c8307566dcecf900867401a92023d7ba99cb5f");
    assert.equal(c.requireAttested, true);
    assert.equal(c.startupFloorEpochs, "off");
    assert.deepEqual(c.hostAllowlist, ["localhost", "127.0.0.1"]);
    assert.equal(loadConfig({ config: file({ port: 7002, "require-attested": false }) }, {}).port, 7002);
    assert.equal(loadConfig({ config: file("") }, {}).port, 9000, "an empty file sets nothing");
  });

  it("takes Web3Signer's names for the same settings, from its flags, environment and config file", () => {
    // A Web3Signer config file as its documentation writes one: eth2 options under eth2.
    const w3s = file(
      [
        "http-listen-host: \"0.0.0.0\"",
        "http-listen-port: 9100",
        "http-host-allowlist: [\"signer.internal\", \"localhost\"]",
        "logging: \"DEBUG\"",
        "eth2.network: \"hoodi\"",
        "eth2.keystores-path: \"/var/lib/keys\"",
        "eth2.keystores-passwords-path: \"/var/lib/passwords\"",
        "eth2.slashing-protection-db-url: \"jdbc:postgresql://db.internal:5433/web3signer?sslmode=require\"",
        "eth2.slashing-protection-db-username: \"signer\"",
        "eth2.slashing-protection-db-password: \"p@ss:w/rd\"",
        "eth2.slashing-protection-pruning-enabled: true",
        "eth2.slashing-protection-pruning-interval: 24",
        "",
      ].join("\n"),
    );
    const c = loadConfig({ "config-file": w3s }, {});
    assert.equal(c.host, "0.0.0.0");
    assert.equal(c.port, 9100);
    assert.deepEqual(c.hostAllowlist, ["signer.internal", "localhost"]);
    assert.equal(c.logLevel, "debug");
    assert.equal(c.network, "hoodi");
    assert.equal(c.keystoresDir, "/var/lib/keys");
    assert.equal(c.keystoresPasswordsDir, "/var/lib/passwords");
    assert.equal(c.slashingDb, "postgres://signer:p%40ss%3Aw%2Frd@db.internal:5433/web3signer?sslmode=require");
    assert.equal(c.pruneIntervalMinutes, 24 * 60);
    assert.equal(networkSetting({ "config-file": w3s }, {}), "hoodi");

    // Each source keeps its rank whatever the names: a flag beats the environment beats the file.
    const ranked = loadConfig({ config: w3s, "http-listen-port": "9200" }, { WEB3SIGNER_LOGGING: "warn", SECURE_SIGNER_HOST: "127.0.0.9", WEB3SIGNER_ETH2_NETWORK: "sepolia" });
    assert.equal(ranked.port, 9200);
    assert.equal(ranked.logLevel, "warn");
    assert.equal(ranked.host, "127.0.0.9");
    assert.equal(ranked.network, "sepolia");
    assert.equal(networkSetting({ config: w3s }, { WEB3SIGNER_ETH2_NETWORK: "sepolia" }), "sepolia");
    assert.equal(networkSetting({ network: "gnosis", config: w3s }, { WEB3SIGNER_ETH2_NETWORK: "sepolia" }), "gnosis");
    assert.equal(networkSetting({}, { WEB3SIGNER_CONFIG_FILE: w3s }), "hoodi");
    assert.equal(networkSetting({}, {}), "mainnet");

    assert.equal(loadConfig({ logging: "OFF" }, {}).logLevel, "silent");
    assert.equal(loadConfig({ logging: "all" }, {}).logLevel, "trace");
    assert.equal(loadConfig({ "slashing-protection-pruning-enabled": "false", "slashing-protection-pruning-interval": "48" }, {}).pruneIntervalMinutes, 0);
    assert.equal(loadConfig({ "slashing-protection-db-url": "jdbc:postgresql://localhost/web3signer" }, {}).slashingDb, "postgres://localhost/web3signer");
  });

  it("reads Web3Signer's --metrics-enabled and --metrics-category as Web3Signer means them", () => {
    const unset = loadConfig({}, {});
    assert.equal(unset.metricsEnabled, undefined, "by default /metrics stays on the main port");
    assert.equal(unset.metricsPort, undefined);
    const enabled = loadConfig({ "metrics-enabled": "true" }, {});
    assert.equal(enabled.metricsEnabled, true);
    assert.equal(enabled.metricsPort, 9001, "Web3Signer's metrics port unless one is given");
    assert.equal(loadConfig({ "metrics-enabled": "true", "metrics-port": "9300" }, {}).metricsPort, 9300);
    assert.equal(loadConfig({}, { WEB3SIGNER_METRICS_ENABLED: "true" }).metricsPort, 9001);
    assert.equal(loadConfig({}, { WEB3SIGNER_METRICS_ENABLED: "false" }).metricsEnabled, false);
    assert.throws(() => loadConfig({ "metrics-enabled": "false", "metrics-port": "9300" }, {}), /--metrics-enabled=false serves no metrics/);
    assert.throws(() => loadConfig({ "metrics-enabled": "yes" }, {}), /--metrics-enabled: Expected boolean/);
    assert.deepEqual(loadConfig({ "metrics-category": "http, signing,ETH2_SLASHING_PROTECTION,JVM,process" }, {}).metricsCategory, ["HTTP", "SIGNING", "ETH2_SLASHING_PROTECTION", "JVM", "PROCESS"]);
    assert.throws(() => loadConfig({ "metrics-category": "HTTP,BLOCKCHAIN" }, {}), /--metrics-category: unknown category BLOCKCHAIN; Web3Signer's are ETH2_SLASHING_PROTECTION, HTTP, SIGNING, JVM, PROCESS/);
  });

  it("defaults to safe limits: Web3Signer's Host allowlist plus the bound address, timeouts, a connection cap, no DEPOSIT", () => {
    const c = loadConfig({}, {});
    assert.deepEqual(c.hostAllowlist, ["localhost", "127.0.0.1"]);
    assert.deepEqual(loadConfig({ host: "10.0.0.5" }, {}).hostAllowlist, ["localhost", "127.0.0.1", "10.0.0.5"]);
    assert.deepEqual(loadConfig({ host: "0.0.0.0" }, {}).hostAllowlist, ["localhost", "127.0.0.1"], "a wildcard address is no Host name");
    assert.deepEqual(loadConfig({ "host-allowlist": "*" }, {}).hostAllowlist, ["*"]);
    assert.equal(c.allowDepositSigning, false);
    assert.equal(c.signingTokenFile, undefined);
    assert.ok(c.headersTimeoutMs > 0 && c.headersTimeoutMs <= c.requestTimeoutMs);
    assert.ok(c.idleConnectionTimeoutSeconds > 0);
    assert.ok(c.maxConnections > 0 && c.maxConnections < 1024, "below the common open-file limit");
    assert.ok(c.shutdownTimeoutMs > 0);
  });

  it("reads the migration settings of serve --migrate-from from flags, environment and config file alike", () => {
    const releaseKey = "0x" + "ab".repeat(32);
    const settings = { "migrate-from": "https://old-signer:9000", "migration-allowlist": "allowlist.json", "migration-token-file": "token.txt", "migration-ca": "ca.pem" };
    const sim = { platform: "simulated-sgx", "simulated-sgx-cpu-secret-file": "cpu", "simulated-sgx-mrenclave": releaseKey, "release-key": releaseKey };
    const fromFile = loadConfig({ ...sim, config: file(settings) }, {});
    const fromEnv = loadConfig(sim, {
      SECURE_SIGNER_MIGRATE_FROM: settings["migrate-from"],
      SECURE_SIGNER_MIGRATION_ALLOWLIST: settings["migration-allowlist"],
      SECURE_SIGNER_MIGRATION_TOKEN_FILE: settings["migration-token-file"],
      SECURE_SIGNER_MIGRATION_CA: settings["migration-ca"],
    });
    const fromFlags = loadConfig({ ...sim, ...settings }, {});
    for (const c of [fromFile, fromEnv, fromFlags]) {
      assert.equal(c.migrateFrom, "https://old-signer:9000");
      assert.equal(c.migrationAllowlist, resolve("allowlist.json"), "a path, made absolute");
      assert.equal(c.migrationTokenFile, resolve("token.txt"));
      assert.equal(c.migrationCa, resolve("ca.pem"));
      assert.equal(c.migrationCollateral, undefined);
    }
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
    ["a headers timeout above the request timeout", () => loadConfig({ "headers-timeout-ms": "20000", "request-timeout-ms": "10000" }, {}), /--headers-timeout-ms must not exceed --request-timeout-ms/],
    ["no connections at all", () => loadConfig({ "max-connections": "0" }, {}), /--max-connections/],
    ["tls-cert without tls-key", () => loadConfig({ "tls-cert": "c.pem" }, {}), /--tls-cert and --tls-key go together/],
    ["client CA without TLS", () => loadConfig({ "tls-client-ca": "ca.pem" }, {}), /--tls-client-ca needs --tls-cert/],
    ["keystores without passwords", () => loadConfig({ "keystores-dir": "k" }, {}), /--keystores-dir and --keystores-passwords-dir go together/],
    ["an unknown key in the file", () => loadConfig({ config: file({ prot: 1 }) }, {}), /unknown setting "prot"/],
    ["a file that is not YAML", () => loadConfig({ config: file("port: [1") }, {}), /config file .*: /],
    ["a file that is not an object", () => loadConfig({ config: file([1]) }, {}), /must hold settings as name: value/],
    ["a nested value in the file", () => loadConfig({ config: file({ port: { n: 1 } }) }, {}), /port must be a value or a list of values/],
    ["a Web3Signer key without its eth2. prefix in the file", () => loadConfig({ config: file({ "slashing-protection-db-url": "jdbc:postgresql://h/db" }) }, {}), /unknown setting "slashing-protection-db-url"/],
    ["our name and Web3Signer's for one setting", () => loadConfig({ port: "1", "http-listen-port": "2" }, {}), /--port and --http-listen-port are the same setting: give one/],
    ["both in the environment", () => loadConfig({}, { SECURE_SIGNER_NETWORK: "hoodi", WEB3SIGNER_ETH2_NETWORK: "hoodi" }), /SECURE_SIGNER_NETWORK and WEB3SIGNER_ETH2_NETWORK are the same setting/],
    ["a Web3Signer log level that does not exist", () => loadConfig({ logging: "LOUD" }, {}), /--logging must be one of OFF, FATAL, ERROR, WARN, INFO, DEBUG, TRACE, ALL, got LOUD/],
    ["a database URL that is not JDBC PostgreSQL", () => loadConfig({ "slashing-protection-db-url": "jdbc:mysql://h/db" }, {}), /--slashing-protection-db-url must be jdbc:postgresql:\/\/HOST\[:PORT\]\/DATABASE/],
    ["a database user without the URL", () => loadConfig({ "slashing-protection-db-username": "u" }, {}), /--slashing-protection-db-username needs the database URL/],
    ["a password without the user", () => loadConfig({ "slashing-protection-db-url": "jdbc:postgresql://h/db", "slashing-protection-db-password": "p" }, {}), /needs slashing-protection-db-username/],
    ["pruning neither true nor false", () => loadConfig({ "slashing-protection-pruning-enabled": "yes" }, {}), /--slashing-protection-pruning-enabled must be true or false/],
    ["a pruning interval in fractions of hours", () => loadConfig({ "slashing-protection-pruning-interval": "1.5" }, {}), /must be a whole number of hours/],
    ["a wrong type in the file", () => loadConfig({ config: file({ port: "x" }) }, {}), /port in config file .* must be a number/],
    ["a release key that is not 32 bytes of hex", () => loadConfig({ platform: "tsm", "release-key": "0x1234" }, {}), /--release-key/],
    ["a release key on the dev platform, whose evidence measures nothing", () => loadConfig({ "release-key": "0x" + "ab".repeat(32) }, {}), /--release-key needs a platform with measured builds/],
    ["a migration without its allowlist, token and release key", () => loadConfig({ platform: "tsm", "migrate-from": "https://old:9000" }, {}), /--migrate-from needs --migration-allowlist, --migration-token-file and --release-key/],
    ["a predecessor URL that is not HTTP(S)", () => loadConfig({ platform: "tsm", "migrate-from": "ftp://old" }, {}), /--migrate-from/],
    ["a migration setting without --migrate-from", () => loadConfig({ "migration-token-file": "t" }, {}), /--migration-token-file is a setting of --migrate-from, which is not given/],
    ["simulated-sgx without its CPU and build", () => loadConfig({ platform: "simulated-sgx" }, {}), /--platform simulated-sgx needs --simulated-sgx-cpu-secret-file and --simulated-sgx-mrenclave/],
    ["a simulated-sgx setting on another platform", () => loadConfig({ "simulated-sgx-mrenclave": "0x" + "ab".repeat(32) }, {}), /--simulated-sgx-\* settings need --platform simulated-sgx/],
  ];
  for (const [name, run, message] of bad) {
    it(`refuses ${name} with a message naming it`, () => {
      assert.throws(run, (e: unknown) => e instanceof ConfigError && message.test(e.message));
    });
  }
});
