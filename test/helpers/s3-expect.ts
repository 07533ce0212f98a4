// Checks for tests that run the same S3 calls against the gateway and radosgw side by side:
// they throw plain Errors (naming the side's answer) instead of asserting, so one side's
// answer can be collected and compared with the other's.

/** The S3 error code and HTTP status a call fails with (or throws that it succeeded). */
export async function failure(p: Promise<unknown>): Promise<{ code: string; status: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    return { code: e.Code ?? e.name ?? 'Unknown', status: e.$metadata?.httpStatusCode ?? 0 };
  }
  throw new Error('the call succeeded, an error was expected');
}

/** The call fails with `code` (`'*'`: any) and HTTP `status`. */
export async function expectError(p: Promise<unknown>, code: string, status: number): Promise<void> {
  const f = await failure(p);
  if (f.status !== status || (code !== '*' && f.code !== code)) throw new Error(`expected ${code} ${status}, got ${f.code} ${f.status}`);
}

/** `actual` and `expected` have the same JSON. */
export function eq(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual); const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** The body of a GetObject answer as text. */
export const text = async (body: unknown): Promise<string> => (body as { transformToString(): Promise<string> }).transformToString();
