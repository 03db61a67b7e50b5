/** Status code of an Azure SDK error, if it carries one. */
export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | null)?.statusCode;
}

export const isConflict = (err: unknown): boolean => statusOf(err) === 409;
export const isPreconditionFailed = (err: unknown): boolean => statusOf(err) === 412;
export const isNotFound = (err: unknown): boolean => statusOf(err) === 404;

/** A conditional write found the record changed since it was read: another run holds it now (the lease was lost). */
export class RecordChangedError extends Error {}

/** Create a Table Storage table unless it exists (409 from a racing creator is success too). */
export async function ensureTable(client: { createTable(options?: { abortSignal?: AbortSignal }): Promise<unknown> }, options: { abortSignal?: AbortSignal } = {}): Promise<void> {
  try {
    await client.createTable(options);
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}
