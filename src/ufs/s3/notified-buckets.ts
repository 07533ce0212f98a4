// Buckets on which this process has configured a bucket notification (active sync). On
// radosgw 16.2.15 with the beast frontend, DeleteObjects on such a bucket crashes the
// server (docs/s3.md), so while a mark is held every S3Ufs of this process deletes with
// single DeleteObject calls, whatever its `batchDelete` option says.

const marks = new Map<string, number>();

const keyOf = (endpoint: string | undefined, bucket: string): string => `${endpoint ?? ''}\0${bucket}`;

/** Hold (`on`) or release a mark on a bucket; marks are counted. */
export function markBucketNotified(endpoint: string | undefined, bucket: string, on: boolean): void {
  const k = keyOf(endpoint, bucket);
  const n = (marks.get(k) ?? 0) + (on ? 1 : -1);
  if (n > 0) marks.set(k, n);
  else marks.delete(k);
}

/** Whether a notification of this process may exist on the bucket. */
export function bucketHasNotification(endpoint: string | undefined, bucket: string): boolean {
  return marks.has(keyOf(endpoint, bucket));
}
