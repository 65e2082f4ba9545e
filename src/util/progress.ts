/**
 * Progress of a long batch (keystore decryption: a scrypt keystore takes about a second) as log
 * lines: one each tenth of the way and one at the end, so 1,000 keystores give 10 lines, not 1,000,
 * and an operator sees the signer working rather than a silent port. Batches under 10 items are
 * logged at the end only.
 */
export function progressSteps(report: (done: number, total: number) => void): (done: number, total: number) => void {
  let lastStep = 0;
  return (done, total) => {
    const step = Math.floor((done * 10) / total);
    if (done === total || (total >= 10 && step > lastStep)) {
      lastStep = step;
      report(done, total);
    }
  };
}
