/**
 * Test seams: `CURATE_TEST_KILL_AT=STAGE` kills the process with SIGKILL as that stage starts, and
 * `CURATE_TEST_KILL_AT=STEP:N` once N units of that write step (scatter, write) are committed. Never
 * set outside tests.
 */
export function stagePoint(stage: 'dedup' | 'write' | 'finalize'): void {
  if (process.env.CURATE_TEST_KILL_AT === stage) process.kill(process.pid, 'SIGKILL');
}

export function killPoint(step: string, count: number): void {
  if (process.env.CURATE_TEST_KILL_AT === `${step}:${count}`) process.kill(process.pid, 'SIGKILL');
}

/**
 * `CURATE_TEST_PAUSE_AT=STEP:N@RANK` holds the process (a rank of a staged run, stages/ranks.ts) for
 * ten minutes once N units of that step are committed by that rank, so a test can cancel it mid-run.
 */
export function pausePoint(step: string, count: number, rank: number | undefined): void {
  if (rank === undefined || process.env.CURATE_TEST_PAUSE_AT !== `${step}:${count}@${rank}`) return;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600_000);
}
