import { checkReportData } from "../reportData.js";
import { verifyStatement, type VerifiedStatement } from "../statement.js";
import { bareHex, fromHex, normalizePubkey, toBareHex, toHex } from "../../util/hex.js";
import { check, type Check } from "./check.js";

/** The parts of an evidence v2 document the statements are checked with (tee/evidence.ts). */
export interface EvidenceV2Claim {
  transportPublicKey: string;
  identityPublicKey: string;
  statements: unknown[];
}

/** An entry of a deposit_data-*.json file (hex without 0x, as staking-deposit-cli writes it). */
export interface DepositDataEntry {
  pubkey: string;
  withdrawal_credentials: string;
  amount: number;
  fork_version: string;
  deposit_data_root: string;
}

export interface StatementExpectations {
  /** The relying party's nonce; bytes 32..63 must be it (zero when absent). */
  nonce?: Uint8Array;
  /** Keys that must each have a statement. */
  blsPubkeys?: string[];
  /** Deposits that must each be stated, by a "generated" statement, with exactly these fields. */
  depositData?: DepositDataEntry[];
}

export interface StatementsResult {
  checks: Check[];
  /** The verified statements, only when report data binds the identity that signed them. */
  keys?: VerifiedStatement[];
  transportPublicKey?: Uint8Array;
}


/**
 * Evidence v2 after the quote: report data binds the transport and identity keys, every statement
 * is the identity's and names a different key, and the relying party's keys and deposits are stated.
 * `reportData` must come from the signed quote (or, for the dev platform, from the document, which
 * then proves only the statements' consistency, not that any enclave made them).
 */
export function checkStatements(reportData: Uint8Array, doc: EvidenceV2Claim, want: StatementExpectations): StatementsResult {
  const checks: Check[] = [];
  const transportPublicKey = fromHex(doc.transportPublicKey, "transportPublicKey");
  const identityPublicKey = fromHex(doc.identityPublicKey, "identityPublicKey", 32);
  const bound = checkReportData(reportData, { transportPublicKey, identityPublicKey, blsPubkeys: [], ...(want.nonce && { nonce: want.nonce }) });
  checks.push(check("REPORT_DATA", bound.ok, "report data binds the transport key and the instance identity key (evidence v2)", bound.ok ? "" : bound.reason));

  const keys: VerifiedStatement[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [i, s] of doc.statements.entries()) {
    try {
      const v = verifyStatement(identityPublicKey, s);
      if (seen.has(v.pubkey)) problems.push(`statement ${i}: ${v.pubkey} is stated twice`);
      seen.add(v.pubkey);
      keys.push(v);
    } catch (e) {
      problems.push(`statement ${i}: ${(e as Error).message}`);
    }
  }
  checks.push(check("KEY_STATEMENTS", problems.length === 0, `${keys.length} key statement(s) signed by the instance identity key`, problems.join("; ")));

  const byKey = new Map(keys.map((k) => [k.pubkey, k]));
  for (const pubkey of (want.blsPubkeys ?? []).map((k) => normalizePubkey(k))) {
    checks.push(check("KEY_STATED", byKey.has(pubkey), `${pubkey} is stated (${byKey.get(pubkey)?.origin})`, `no statement for ${pubkey}`));
  }
  for (const d of want.depositData ?? []) {
    const pubkey = normalizePubkey("0x" + bareHex(d.pubkey));
    const k = byKey.get(pubkey);
    const stated = k?.deposit;
    const problem =
      k === undefined
        ? `no statement for ${pubkey}`
        : k.origin !== "generated" || stated === undefined
          ? `${pubkey} is stated ${k.origin}${stated ? "" : " without a deposit"}: its deposit was not signed inside at keygen`
          : toBareHex(stated.depositDataRoot) !== bareHex(d.deposit_data_root) ||
              toBareHex(stated.withdrawalCredentials) !== bareHex(d.withdrawal_credentials) ||
              stated.amountGwei !== d.amount ||
              toBareHex(stated.forkVersion) !== bareHex(d.fork_version)
            ? `deposit for ${pubkey} (root ${bareHex(d.deposit_data_root)}) is not the one signed at keygen (root ${toBareHex(stated.depositDataRoot)})`
            : undefined;
    checks.push(check("DEPOSIT_DATA", problem === undefined, `deposit for ${pubkey} is the one signed inside at keygen (root ${bareHex(d.deposit_data_root)})`, problem ?? ""));
  }
  return { checks, ...(bound.ok && { keys, transportPublicKey }) };
}

/** One line per key for the CLI. */
export function describeStatement(k: VerifiedStatement): string {
  const d = k.deposit;
  return `${k.pubkey} ${k.origin.toUpperCase()} (creation #${k.counter})${d ? ` deposit root ${toHex(d.depositDataRoot)}, withdrawal credentials ${toHex(d.withdrawalCredentials)}, ${d.amountGwei} gwei, fork ${toHex(d.forkVersion)}` : ""}`;
}
