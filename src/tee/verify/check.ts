/** One verification step; `id` is stable so callers and tests can tell which step refused. */
export type CheckId =
  | "PCK_CHAIN"
  | "QE_VENDOR"
  | "QE_REPORT_SIGNATURE"
  | "QE_IDENTITY"
  | "QE_REPORT_BINDING"
  | "QUOTE_SIGNATURE"
  | "VCEK_CHAIN"
  | "REPORT_SIGNATURE"
  | "VCEK_BINDING"
  | "DEBUG"
  | "TD_POLICY"
  | "SNP_POLICY"
  | "NONCE"
  | "MEASUREMENT"
  | "EXPECTED_FIELD"
  | "REPORT_DATA"
  | "COLLATERAL"
  | "TCB_STATUS"
  | "KEY_STATEMENTS"
  | "KEY_STATED"
  | "DEPOSIT_DATA";

export interface Check {
  id: CheckId;
  ok: boolean;
  detail: string;
}

export function check(id: CheckId, ok: boolean, pass: string, fail: string): Check {
  return { id, ok, detail: ok ? pass : fail };
}
