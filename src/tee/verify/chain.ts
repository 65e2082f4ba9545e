import { createHash, X509Certificate, type KeyObject } from "node:crypto";
import { TeeError } from "../errors.js";
import type { PinnedRoot } from "../roots/index.js";

export type ChainResult = { ok: true; leaf: X509Certificate; root: string } | { ok: false; reason: string };

const MAX_DEPTH = 5;
const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export function parsePemCertificates(pem: string, what: string): X509Certificate[] {
  return (pem.match(PEM_RE) ?? []).map((p, i) => {
    try {
      return new X509Certificate(p);
    } catch (e) {
      throw new TeeError("INVALID_EVIDENCE", `${what}: certificate ${i + 1} is not valid X.509: ${(e as Error).message}`);
    }
  });
}

function sha256Hex(der: Buffer): string {
  return createHash("sha256").update(der).digest("hex");
}

const loaded = new Map<PinnedRoot, X509Certificate>();

/** The root certificate, after checking its bytes still hash to the pin written next to it. */
export function pinnedRootCertificate(root: PinnedRoot): X509Certificate {
  let cert = loaded.get(root);
  if (!cert) {
    cert = new X509Certificate(root.pem);
    const fingerprint = sha256Hex(cert.raw);
    if (fingerprint !== root.sha256) {
      throw new Error(`shipped root ${root.name} hashes to ${fingerprint}, not its pin ${root.sha256}`);
    }
    loaded.set(root, cert);
  }
  return cert;
}

function describe(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ", ");
}

function validAt(cert: X509Certificate, at: Date): string | undefined {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (at < from) return `certificate "${describe(cert)}" is not valid before ${from.toISOString()} (checked at ${at.toISOString()})`;
  if (at > to) return `certificate "${describe(cert)}" expired ${to.toISOString()} (checked at ${at.toISOString()})`;
  return undefined;
}

/** False, not an exception, for keys or signatures OpenSSL cannot decode: they sign nothing. */
function signedBy(subject: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function signs(issuer: X509Certificate, subject: X509Certificate): boolean {
  return issuer.ca && signedBy(subject, issuer);
}

export function publicKeyOf(cert: X509Certificate): KeyObject | undefined {
  try {
    return cert.publicKey;
  } catch {
    return undefined;
  }
}

/**
 * Builds a path from `leaf` through `intermediates` to one of `roots`, checking each signature and each
 * validity window at `at`. Trust comes only from `roots`: a chain ending in any other self-signed
 * certificate, whatever its name, is refused.
 */
export function verifyChain(
  leaf: X509Certificate,
  intermediates: X509Certificate[],
  roots: readonly PinnedRoot[],
  at: Date,
): ChainResult {
  const anchors = roots.map((r) => ({ name: r.name, cert: pinnedRootCertificate(r) }));
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const expired = validAt(current, at);
    if (expired) return { ok: false, reason: expired };
    const anchor = anchors.find((a) => signs(a.cert, current));
    if (anchor) {
      const rootExpired = validAt(anchor.cert, at);
      return rootExpired ? { ok: false, reason: rootExpired } : { ok: true, leaf, root: anchor.name };
    }
    const next = intermediates.find((c) => c !== current && !c.raw.equals(current.raw) && signs(c, current));
    if (!next) {
      const selfSigned = signedBy(current, current);
      return {
        ok: false,
        reason: selfSigned
          ? `chain ends at self-signed "${describe(current)}" (sha256 ${sha256Hex(current.raw)}), which is not a pinned root (${roots.map((r) => r.name).join(", ")})`
          : `no supplied or pinned certificate issued "${describe(current)}"`,
      };
    }
    current = next;
  }
  return { ok: false, reason: `certificate chain is longer than ${MAX_DEPTH}` };
}
