import type { PinnedRoot } from "../roots/index.js";
import { describe, isCa, issuerOf, parseCertificate, publicKeyOf, serialOf, sha256Hex, signatureVerifies, subjectOf, type Cert, type Crl } from "./x509.js";

export type ChainResult = { ok: true; path: Cert[]; root: string } | { ok: false; reason: string };

const MAX_DEPTH = 5;

const loaded = new Map<PinnedRoot, Cert>();

/** The root certificate, after checking its bytes still hash to the pin written next to it. */
export function pinnedRootCertificate(root: PinnedRoot): Cert {
  let cert = loaded.get(root);
  if (!cert) {
    const pem = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(root.pem);
    cert = parseCertificate(Buffer.from(pem?.[1] ?? "", "base64"), `pinned root ${root.name}`);
    const fingerprint = sha256Hex(cert.der);
    if (fingerprint !== root.sha256) {
      throw new Error(`shipped root ${root.name} hashes to ${fingerprint}, not its pin ${root.sha256}`);
    }
    loaded.set(root, cert);
  }
  return cert;
}

function validAt(cert: Cert, at: Date): string | undefined {
  const from = new Date(cert.x509.validFrom);
  const to = new Date(cert.x509.validTo);
  if (at < from) return `certificate "${describe(cert)}" is not valid before ${from.toISOString()} (checked at ${at.toISOString()})`;
  if (at > to) return `certificate "${describe(cert)}" expired ${to.toISOString()} (checked at ${at.toISOString()})`;
  return undefined;
}

/** Issued by name and by signature; a CA only when `asCa`, since a leaf must never issue. */
function issued(issuer: Cert, subject: Cert, asCa = true): boolean {
  if (!issuerOf(subject).equals(subjectOf(issuer)) || (asCa && !isCa(issuer))) return false;
  const key = publicKeyOf(issuer);
  try {
    return key !== undefined && subject.x509.verify(key);
  } catch {
    return false;
  }
}

/**
 * The CRL that speaks for `issuer`: its issuer name is the issuer's subject and its signature verifies
 * with the issuer's key. A CRL that is only *labelled* as the right one (the PCK CRL slot holding the
 * root's CRL, say) covers nothing.
 */
function revocationProblem(subject: Cert, issuer: Cert, crls: readonly Crl[], at: Date): string | undefined {
  const key = publicKeyOf(issuer);
  const own = crls.filter((c) => c.issuer.equals(subjectOf(issuer)) && key !== undefined && signatureVerifies(c.signatureAlgorithm, c.tbs, key, c.signature));
  if (own.length === 0) return `no CRL given is signed by "${describe(issuer)}", so "${describe(subject)}" cannot be checked for revocation`;
  for (const crl of own) {
    if (at < crl.thisUpdate || (crl.nextUpdate !== undefined && at > crl.nextUpdate)) {
      return `${crl.what} is valid from ${crl.thisUpdate.toISOString()} to ${crl.nextUpdate?.toISOString()}, not at ${at.toISOString()}`;
    }
    if (crl.revoked.has(serialOf(subject))) return `"${describe(subject)}" (serial ${serialOf(subject)}) is revoked by the ${crl.what}`;
  }
  return undefined;
}

/**
 * Builds a path from `leaf` through `pool` to one of `roots`, checking each name, signature and
 * validity window at `at` and, when `revocation` is given, that each issued certificate is covered by
 * a CRL of its own issuer and not revoked there. Trust comes only from `roots`: a chain ending in any other
 * self-signed certificate, whatever its name, is refused. The order of `pool` does not matter.
 */
export interface Revocation {
  crls: readonly Crl[];
  /** Only certificates the root issued need a CRL (AMD: the ARK revokes ASKs; VCEKs have no CRL). */
  onlyRootIssued?: boolean;
}

export function verifyChain(leaf: Cert, pool: readonly Cert[], roots: readonly PinnedRoot[], at: Date, revocation?: Revocation): ChainResult {
  const anchors = roots.map((r) => ({ name: r.name, cert: pinnedRootCertificate(r) }));
  const path = [leaf];
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const expired = validAt(current, at);
    if (expired) return { ok: false, reason: expired };
    const anchor = anchors.find((a) => issued(a.cert, current));
    const next = anchor?.cert ?? pool.find((c) => !path.some((p) => p.der.equals(c.der)) && issued(c, current));
    if (!next) {
      const selfSigned = issued(current, current, false);
      return {
        ok: false,
        reason: selfSigned
          ? `chain ends at self-signed "${describe(current)}" (sha256 ${sha256Hex(current.der)}), which is not a pinned root (${roots.map((r) => r.name).join(", ")})`
          : `no supplied or pinned CA certificate issued "${describe(current)}"`,
      };
    }
    const revoked = revocation && (anchor || !revocation.onlyRootIssued) ? revocationProblem(current, next, revocation.crls, at) : undefined;
    if (revoked) return { ok: false, reason: revoked };
    path.push(next);
    if (anchor) {
      const rootExpired = validAt(anchor.cert, at);
      return rootExpired ? { ok: false, reason: rootExpired } : { ok: true, path, root: anchor.name };
    }
    current = next;
  }
  return { ok: false, reason: `certificate chain is longer than ${MAX_DEPTH}` };
}
