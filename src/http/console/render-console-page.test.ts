import { describe, expect, it } from 'vitest';
import { renderConsolePage } from './render-console-page.ts';

const view = {
  title: 'Audit',
  section: 'audit',
  tenant: 'acme',
  user: { name: 'Alice <admin>\u202E', roles: ['owner'] },
  csrfToken: 'csrf-token-1',
  body: '<p>body</p>',
} as const;

describe('renderConsolePage()', () => {
  it('marks the current section, links every section, and starts with a skip link to the content', () => {
    const html = renderConsolePage(view);
    expect(html).toContain('<a class="skip" href="#main">');
    expect(html).toContain('<main id="main" tabindex="-1">');
    expect(html).toContain('<a href="/console/acme/audit" aria-current="page">Audit</a>');
    for (const path of [
      '/console/acme"',
      '/services"',
      '/toolsets"',
      '/connections"',
      '/approvals"',
      '/users"',
      '/alerts"',
    ])
      expect(html).toContain(path);
  });

  it('escapes the user name and shows its invisible characters, and loads style and script from the gateway only', () => {
    const html = renderConsolePage(view);
    expect(html).toContain('Alice &#60;admin&#62;<mark class="ctl">U+202E</mark>');
    expect(html).toContain('<link rel="stylesheet" href="/console/assets/console.css">');
    expect(html).toContain('<script src="/console/assets/console.js" defer></script>');
    expect(html).not.toContain('<style');
    expect(html).not.toMatch(/<script>/);
  });

  it('links only the sections given in nav, and shows a notice as an alert when it is an error', () => {
    const html = renderConsolePage({ ...view, nav: ['audit'], notice: { kind: 'error', text: 'No <b>' } });
    expect(html).not.toContain('/console/acme/users');
    expect(html).toContain('<p class="notice notice-error" role="alert">No &#60;b&#62;</p>');
  });

  it('shows the operator as operator, links every tenant, and signs the operator out (not a tenant user)', () => {
    const html = renderConsolePage({ ...view, user: { name: 'operator', roles: ['owner'] }, operator: true });
    expect(html).toContain('<a href="/console">All tenants</a> operator <small>(owner of every tenant)</small>');
    expect(html).toContain('action="/operator/signout"');
    expect(html).toContain('value="csrf-token-1"');
    expect(html).not.toContain('action="/signout"');
  });
});
