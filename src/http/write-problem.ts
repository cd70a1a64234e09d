import { type ServerResponse, STATUS_CODES } from 'node:http';
import { type GatehouseError, httpStatusOf, noteResponseOutcome } from '../core/index.ts';

/**
 * Writes a GatehouseError as `application/problem+json` (RFC 9457): `{type,title,status,code,detail}`, plus
 * `details` when the error has any (non-secret by contract). The status comes from `httpStatusOf`.
 */
export function writeProblem(
  res: ServerResponse,
  error: GatehouseError,
  headers: Readonly<Record<string, string>> = {},
): void {
  const status = httpStatusOf[error.code];
  noteResponseOutcome(res, { code: error.code });
  const problem: Record<string, unknown> = {
    type: `urn:gatehouse:problem:${error.code}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    code: error.code,
    detail: error.message,
  };
  if (Object.keys(error.details).length > 0) problem['details'] = error.details;
  const body = JSON.stringify(problem);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
