export type { Caller, CallOutcome, Gateway, ListedTool } from './contract.ts';
