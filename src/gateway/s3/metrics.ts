// Prometheus exposition of an S3 gateway's own counters, for `strata gateway` (its own
// process, `--metrics-port`): requests by operation and status, errors by S3 code, latency
// sums, bytes in and out. In the server process the same counters go into the coordinator's
// report and its /metrics instead (same families, src/metrics/gateway.ts).

import type { MetricsSource } from '../../server/metrics-http.js';
import { gatewayPrometheus } from '../../metrics/gateway.js';

export { gatewayPrometheus };

/** The gateway's counters as a source for `startMetricsServer`. */
export function gatewayMetricsSource(metrics: Record<string, number>): MetricsSource {
  return { prometheus: async () => gatewayPrometheus(metrics) };
}
