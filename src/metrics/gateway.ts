// Prometheus families of the S3 gateway's counters, shared by the two hosts of the gateway:
// `strata gateway --metrics-port` (its own process) and the server's /metrics, where the
// in-process gateway's counters live in the `gateway` group of the coordinator's Metrics.

const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * Text exposition (format 0.0.4) of the gateway counters `requests.<op>.<status>`,
 * `errors.<S3 code>`, `latencyMs.<op>`, `bytesIn`, `bytesOut`:
 * `strata_gateway_requests_total{op,status}`, `strata_gateway_errors_total{code}`,
 * `strata_gateway_request_duration_ms_sum{op}` / `_count{op}`, `strata_gateway_bytes_in_total`,
 * `strata_gateway_bytes_out_total`; with `totals`, also `strata_gateway_total{name}` (every
 * counter by its report name; the server's generic exposition of its groups has that family already).
 */
export function gatewayPrometheus(metrics: Record<string, number>, o: { totals: boolean } = { totals: true }): string {
  const requests: string[] = []; const latency: string[] = []; const errors: string[] = []; const all: string[] = [];
  const counts = new Map<string, number>();
  for (const [name, n] of Object.entries(metrics)) {
    all.push(`strata_gateway_total{name="${esc(name)}"} ${n}`);
    const r = /^requests\.([^.]+)\.(\d+)$/.exec(name);
    if (r) {
      requests.push(`strata_gateway_requests_total{op="${esc(r[1]!)}",status="${r[2]}"} ${n}`);
      counts.set(r[1]!, (counts.get(r[1]!) ?? 0) + n);
      continue;
    }
    const e = /^errors\.(.+)$/.exec(name);
    if (e) { errors.push(`strata_gateway_errors_total{code="${esc(e[1]!)}"} ${n}`); continue; }
    const l = /^latencyMs\.(.+)$/.exec(name);
    if (l) latency.push(`strata_gateway_request_duration_ms_sum{op="${esc(l[1]!)}"} ${n}`);
  }
  for (const [op, n] of counts) latency.push(`strata_gateway_request_duration_ms_count{op="${esc(op)}"} ${n}`);
  return [
    '# HELP strata_gateway_requests_total S3 requests by operation and HTTP status.',
    '# TYPE strata_gateway_requests_total counter', ...requests,
    '# HELP strata_gateway_errors_total S3 error responses by S3 error code.',
    '# TYPE strata_gateway_errors_total counter', ...errors,
    '# HELP strata_gateway_request_duration_ms S3 request latency (sum and count, ms) by operation.',
    '# TYPE strata_gateway_request_duration_ms summary', ...latency,
    '# HELP strata_gateway_bytes_in_total Payload bytes received.',
    '# TYPE strata_gateway_bytes_in_total counter', `strata_gateway_bytes_in_total ${metrics.bytesIn ?? 0}`,
    '# HELP strata_gateway_bytes_out_total Body bytes sent.',
    '# TYPE strata_gateway_bytes_out_total counter', `strata_gateway_bytes_out_total ${metrics.bytesOut ?? 0}`,
    ...(o.totals ? ['# HELP strata_gateway_total Every gateway counter by its report name.', '# TYPE strata_gateway_total counter', ...all] : []),
    '',
  ].join('\n');
}
