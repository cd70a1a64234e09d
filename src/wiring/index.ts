export type { Adapters } from './adapters.ts';
export { startGatehouse } from './start-gatehouse.ts';
export { type Observability, type ObservabilityOptions, startObservability } from './start-observability.ts';
