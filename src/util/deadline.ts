/**
 * Local work under the run's deadline: a read from a hung drive never settles, and nothing in Node can
 * cancel it, so the run stops waiting for it when the deadline passes and carries on to its report.
 */

/** Resolves or rejects as `work` does, or rejects with `expired()` once `deadline` (ms epoch) has passed. */
export function withinDeadline<T>(work: Promise<T>, deadline: number | undefined, expired: () => Error): Promise<T> {
  if (deadline === undefined) return work;
  const left = deadline - Date.now();
  if (left <= 0) {
    work.catch(() => undefined);
    return Promise.reject(expired());
  }
  return new Promise<T>((resolve, reject) => {
    // Node timers overflow above 2^31-1 ms; a deadline further away needs no timer.
    const timer = left <= 2 ** 31 - 1 ? setTimeout(() => reject(expired()), left) : undefined;
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
