export { createDemoConfig } from './create-demo-config.ts';
export { demoApiDescription } from './demo-api-description.ts';
export { type DemoApi, startDemoApi } from './start-demo-api.ts';
