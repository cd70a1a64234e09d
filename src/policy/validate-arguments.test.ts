import { describe, expect, it } from 'vitest';
import { type GatehouseError, parseConfig, type Tool } from '../core/index.ts';
import { decideToolCall } from './decide-tool-call.ts';
import { compileToolsetPolicy } from './toolset-policy.ts';
import { validateArguments } from './validate-arguments.ts';

const createTask = {
  key: 'createTask',
  operation: 'createTask',
  title: 'Create a task',
  description: 'Create a task',
  inputSchema: {
    type: 'object',
    properties: {
      status: { type: 'string', enum: ['open', 'done'] },
      kind: { const: 'task' },
      title: { type: 'string' },
    },
    required: ['title'],
    additionalProperties: false,
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  safety: 'write',
  scopes: [],
  tags: [],
  request: { method: 'POST', pathTemplate: '/tasks', parameters: [] },
} as unknown as Tool;

function failure(run: () => unknown): GatehouseError {
  try {
    run();
  } catch (error) {
    return error as GatehouseError;
  }
  throw new Error('expected invalid_arguments');
}

describe('validateArguments', () => {
  it('names the tool as the model knows it and lists the allowed values of an enum', () => {
    const error = failure(() =>
      validateArguments(createTask, { status: 'closed', kind: 'bug', extra: 1 }, undefined, 'tasks_createTask'),
    );
    expect(error.code).toBe('invalid_arguments');
    expect(error.message).toMatch(/^Invalid arguments for tasks_createTask: /);
    expect(error.details['arguments']).toEqual([
      'title: is required',
      'extra: is not a known argument',
      'status: must be one of "open", "done"',
      'kind: must be "task"',
    ]);
    expect(error.message).not.toContain('closed'); // the caller's values are never quoted
  });

  it('decideToolCall reports the bound tool name, not the operation id', () => {
    const config = parseConfig({ tenants: [{ id: 't', toolsets: [{ id: 's', access: 'write' }] }] }, { env: {} });
    const tools = new Map([['tasks_createTask', { name: 'tasks_createTask', service: 'tasks', tool: createTask }]]);
    const policy = compileToolsetPolicy(config.tenants[0]!.toolsets[0]!, tools, { scopeImplies: new Map() });
    const error = failure(() => decideToolCall(policy, { name: 'tasks_createTask', args: { status: 'x' } }));
    expect(error.code).toBe('invalid_arguments');
    expect(error.message).toMatch(/^Invalid arguments for tasks_createTask: /);
  });
});
