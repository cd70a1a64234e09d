export {
  createHttpApp,
  type HttpApp,
  type HttpAppOptions,
  type HttpLimits,
  type HttpLogger,
} from './create-http-app.ts';
export { createOriginCheck, type OriginCheckOptions } from './create-origin-check.ts';
export {
  createRouter,
  type HttpContext,
  type HttpRoute,
  type HttpRouteMethod,
  type RouteMatch,
} from './create-router.ts';
export { readBody } from './read-body.ts';
export { type ListenOptions, type RunningHttpServer, startHttpServer } from './start-http-server.ts';
export { writeProblem } from './write-problem.ts';
