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
