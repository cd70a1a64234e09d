export type {
  ConsoleDependencies,
  ConsolePage,
  ConsolePageContext,
  ConsolePageResult,
} from './console-page.ts';
export { consolePages } from './console-pages.ts';
export { type ConsoleRoutesOptions, createConsoleRoutes } from './create-console-routes.ts';
export {
  type ConsolePageView,
  type ConsoleSection,
  consoleHref,
  consoleSectionLabels,
  consoleSections,
  renderConsolePage,
  shown,
} from './render-console-page.ts';
