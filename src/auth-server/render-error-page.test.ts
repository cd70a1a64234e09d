import { describe, expect, it } from 'vitest';
import { renderErrorPage } from './render-error-page.ts';

describe('renderErrorPage()', () => {
  it('shows the error code and description, escaped', () => {
    const html = renderErrorPage({
      error: 'invalid_request',
      error_description: 'resource <script>alert(1)</script> "x" must be an MCP endpoint',
    });
    expect(html).toContain('<code>invalid_request</code>');
    expect(html).toContain('resource &#60;script&#62;alert(1)&#60;/script&#62; &#34;x&#34; must be an MCP endpoint');
    expect(html).not.toContain('<script>');
  });

  it('says nothing of a server error beyond its code (no message, no stack)', () => {
    const html = renderErrorPage({ error: 'server_error', error_description: 'at Object.<anonymous> (/srv/x.js:1)' });
    expect(html).toContain('<code>server_error</code>');
    expect(html).not.toContain('/srv/x.js');
    expect(renderErrorPage({})).toContain('<code>server_error</code>');
  });
});
