/**
 * The parameters of a `WWW-Authenticate: Bearer ...` challenge (RFC 6750 §3, RFC 9728 §5.1) that the gateway reads
 * as an OAuth client: `resource_metadata`, `scope` and `error`. Undefined when the header holds no Bearer challenge.
 */
export interface BearerChallenge {
  readonly error?: string;
  readonly scope?: string;
  readonly resourceMetadata?: string;
}

export function readBearerChallenge(header: string | null | undefined): BearerChallenge | undefined {
  if (header === null || header === undefined || !/(?:^|[\s,])bearer(?:\s|$)/i.test(header)) return undefined;
  const error = challengeParameter(header, 'error');
  const scope = challengeParameter(header, 'scope');
  const resourceMetadata = challengeParameter(header, 'resource_metadata');
  return {
    ...(error === undefined ? {} : { error }),
    ...(scope === undefined ? {} : { scope }),
    ...(resourceMetadata === undefined ? {} : { resourceMetadata }),
  };
}

/** The scopes of a space-delimited `scope` value (RFC 6749 §3.3), empty ones dropped. */
export function splitScopes(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter((s) => s.length > 0);
}

/** An auth-param of a `WWW-Authenticate` header (RFC 9110 §11.2: a token or a quoted string), undefined if absent. */
function challengeParameter(header: string, name: string): string | undefined {
  const match = new RegExp(`(?:^|[\\s,])${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^\\s,"]+))`, 'i').exec(header);
  if (match === null) return undefined;
  return match[1] === undefined ? match[2] : match[1].replace(/\\(.)/g, '$1');
}
