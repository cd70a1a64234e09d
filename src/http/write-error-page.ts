import { type ServerResponse, STATUS_CODES } from 'node:http';
import { type GatehouseError, httpStatusOf, noteResponseOutcome } from '../core/index.ts';
import { pageHeaders, renderHtmlPage, shown, writeHtmlPage } from './html-page.ts';

const errorPageStyle = 'body{font:16px system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}';

/** The heading a person reads, by the answer's status. */
function headingOf(status: number): string {
  if (status === 401 || status === 403) return 'Refused';
  if (status === 404) return 'Not found';
  if (status === 429) return 'Too many attempts';
  if (status >= 500) return 'The gateway could not answer';
  return STATUS_CODES[status] ?? 'Error';
}

/** What to do next, where the error's code says more than its message. */
function hintOf(error: GatehouseError): string {
  if (error.code !== 'forbidden_origin') return '';
  return error.details['header'] === 'host'
    ? '<p>You reached the gateway under a name it does not answer to. Open it at the address its operator gave you.</p>'
    : '<p>The form was sent from another site, or from a page that hides where it came from. Open the page on the gateway itself and send it from there.</p>';
}

/**
 * A GatehouseError as a page a person reads (routes with `errorFormat: 'page'`: sign-in, connect, approval and
 * console pages), for what fails before the page's own handler answers, such as the origin check. Same status and
 * non-secret message as the problem JSON an API client gets; nothing from the request is echoed.
 */
export function writeErrorPage(res: ServerResponse, error: GatehouseError): void {
  const status = httpStatusOf[error.code];
  noteResponseOutcome(res, { code: error.code });
  const body = `<p>${shown(error.message)}.</p>${hintOf(error)}`;
  writeHtmlPage(res, status, renderHtmlPage(headingOf(status), errorPageStyle, body), pageHeaders);
}
