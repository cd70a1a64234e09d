import type { TenantRole } from '../../users/index.ts';
import type { ConsolePage } from './console-page.ts';
import { type ConsoleSection, consoleSectionLabels } from './render-console-page.ts';

/**
 * A section whose page is not built yet: an empty state that says so and where to do the job meanwhile (the admin
 * API), instead of a dead link in the navigation.
 */
export function notBuiltPage(section: ConsoleSection, roles: readonly TenantRole[], meanwhile: string): ConsolePage {
  return {
    section,
    path: `/${section}`,
    roles,
    get: async () => ({
      kind: 'page',
      title: consoleSectionLabels[section],
      body: `<p class="empty">This page is not built yet. Meanwhile: ${meanwhile}</p>`,
    }),
  };
}
