import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { attestationBody, sign } from "../helpers/messages.js";
import { parseExposition } from "../helpers/prometheus.js";
import { startTestSigner } from "../helpers/signer.js";

interface Dashboard {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
}

/** A histogram's series carry these suffixes in queries; its TYPE line names the base. */
const baseName = (series: string) => series.replace(/_(bucket|count|sum)$/, "");

describe("docs/grafana-dashboard.json", () => {
  it("queries only metrics a running signer exposes, with the labels it gives them", async (t) => {
    const dashboard = JSON.parse(await readFile(new URL("../../docs/grafana-dashboard.json", import.meta.url), "utf8")) as Dashboard;
    const signer = await startTestSigner(t);
    // A signature and a refusal: the refusal counter has a series (and its rule label) from the first one.
    const key = signer.keys[0]!;
    assert.equal((await sign(signer.url, key.pubkey, attestationBody(1, 2))).status, 200);
    assert.equal((await sign(signer.url, key.pubkey, attestationBody(1, 2, 7))).status, 412);
    const exposed = parseExposition(await (await fetch(`${signer.url}/metrics`)).text());
    const labelsOf = new Map<string, Set<string>>();
    for (const s of exposed.samples) {
      const set = labelsOf.get(baseName(s.name)) ?? new Set<string>();
      for (const l of Object.keys(s.labels)) set.add(l);
      labelsOf.set(baseName(s.name), set);
    }
    let queried = 0;
    for (const panel of dashboard.panels) {
      assert.ok(panel.targets.length > 0, `${panel.title} has a query`);
      for (const { expr } of panel.targets) {
        const names = expr.match(/secure_signer_[a-z_]+/g) ?? [];
        assert.ok(names.length > 0, `${panel.title}: ${expr} names a secure-signer metric`);
        for (const name of names) {
          assert.ok(exposed.types.has(baseName(name)), `${panel.title}: ${name} is not in /metrics`);
          queried++;
        }
        // Labels grouped by or matched on must be the metric's own (le for histograms).
        const used = [...expr.matchAll(/by \(([^)]*)\)|\{([^}]*)\}/g)].flatMap((m) => (m[1] ?? m[2]!.replace(/=[^,]*/g, "")).split(",").map((l) => l.trim()).filter(Boolean));
        for (const label of used) {
          assert.ok(names.some((n) => label === "le" || labelsOf.get(baseName(n))?.has(label)), `${panel.title}: label ${label} is not on ${names.join(", ")}`);
        }
      }
    }
    assert.ok(queried >= 9);
  });
});
