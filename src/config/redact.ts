// Redaction of secrets in mount options and URLs: every listing (`mount`) and log line
// shows options through this, so credentials never leave the server in clear.

const SECRET_OPTION = /^(s3\.)?(secretAccessKey|sessionToken)$|secret|password|token/i;

/**
 * A copy of mount options with secret values (`secretAccessKey`, `sessionToken`, their
 * `s3.` forms, anything named like a secret, password or token) replaced by `***`, and
 * user:password removed from endpoint URLs. Use it for every listing and log line.
 */
export function redactOptions(options: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(options)) {
    if (SECRET_OPTION.test(k)) out[k] = '***';
    else if (/(^|\.)endpoint$/i.test(k)) out[k] = redactUrl(v);
    else out[k] = v;
  }
  return out;
}

/** An URL without its user-info part (http://user:pw@host -> http://***@host). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}
