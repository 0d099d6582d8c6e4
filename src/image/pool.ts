/**
 * Running jobs with bounded concurrency: at most `limit` at once, results in job order. After the
 * first failure no new job starts; the ones running are awaited (so none is left writing in the
 * background) and the first error is thrown.
 *
 * @module
 */
export async function runBounded<T>(jobs: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const results = new Array<T>(jobs.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < jobs.length) {
      const i = next++;
      try {
        results[i] = await jobs[i]!();
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, jobs.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}
