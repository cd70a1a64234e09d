import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentApproves } from '../support/agent-approves.ts';
import { chromiumMissing, launchChromium } from '../support/launch-chromium.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { type TestDatabaseKind, testDatabases } from '../support/test-databases.ts';

/**
 * Issue 14, approvals as protocol flows: a `tools/call` that needs a person's approval runs as an MCP task (tasks
 * utility of 2025-11-25) for a client that asks for one, with the official 2.x SDK client against two gateway
 * processes sharing one store. The person is the admin API or Chromium clicking the approval page.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const agentKey = 'gatehouse_sk_approval_tasks_agent_0123456789';
const otherKey = 'gatehouse_sk_approval_tasks_other_0123456789';
const globexKey = 'gatehouse_sk_approval_tasks_globex_012345678';
const adminToken = 'approval-tasks-admin-token-0123456789';
const approverToken = 'approval-tasks-acme-approver-token-0123456789';

const TaskSchema = z.looseObject({
  taskId: z.string(),
  status: z.enum(['working', 'input_required', 'completed', 'failed', 'cancelled']),
  statusMessage: z.string().optional(),
  ttl: z.number().nullable(),
  createdAt: z.string(),
  lastUpdatedAt: z.string(),
  pollInterval: z.number().optional(),
});
const CreateTaskSchema = z.looseObject({ task: TaskSchema });
const ToolResultSchema = z.looseObject({
  content: z.array(z.looseObject({ type: z.string(), text: z.string().optional() })),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  isError: z.boolean().optional(),
  _meta: z.record(z.string(), z.unknown()).optional(),
});

function tenants(api: FakeApi): Record<string, unknown>[] {
  const service = { id: 'open', openapi: description, baseUrl: `${api.url}/v1`, auth: { type: 'none' } };
  const toolset = { id: 'all', tools: ['*'], access: 'write', approval: 'destructive' };
  return [
    {
      id: 'acme',
      approverToken,
      services: [service],
      toolsets: [toolset],
      clientKeys: [
        { name: 'agent', key: agentKey, toolsets: ['all'], subject: 'alice' },
        { name: 'other', key: otherKey, toolsets: ['all'], subject: 'alice' },
      ],
    },
    {
      id: 'globex',
      services: [service],
      toolsets: [toolset],
      clientKeys: [{ name: 'agent', key: globexKey, toolsets: ['all'], subject: 'alice' }],
    },
  ];
}

async function taskClient(on: TestGateway, key = agentKey, tenant = 'acme'): Promise<Client> {
  const client = new Client(
    { name: 'approval-tasks-test', version: '1.0.0' },
    { capabilities: { tasks: { requests: { tools: { call: {} } }, cancel: {} } } as never },
  );
  const url = new URL(`${on.url}/mcp/${tenant}/all`);
  await client.connect(
    new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${key}` } } }),
  );
  return client;
}

async function startTask(client: Client, itemId: string) {
  const { task } = await client.request(
    {
      method: 'tools/call',
      params: { name: 'open_deleteItem', arguments: { itemId }, task: { ttl: 60_000 } },
    } as never,
    CreateTaskSchema,
  );
  return task;
}

const getTask = (client: Client, taskId: string) =>
  client.request({ method: 'tasks/get', params: { taskId } } as never, TaskSchema);
const taskResult = (client: Client, taskId: string) =>
  client.request({ method: 'tasks/result', params: { taskId } } as never, ToolResultSchema);
const cancelTask = (client: Client, taskId: string) =>
  client.request({ method: 'tasks/cancel', params: { taskId } } as never, TaskSchema);

async function admin(on: TestGateway, method: string, path: string): Promise<Response> {
  return fetch(`${on.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${adminToken}` } });
}

async function approvalsOf(on: TestGateway): Promise<{ id: string; status: string; decidedBy: string | null }[]> {
  const response = await admin(on, 'GET', '/tenants/acme/approvals');
  return ((await response.json()) as { approvals: { id: string; status: string; decidedBy: string | null }[] })
    .approvals;
}

/** The approval link a waiting task shows, on the gateway's own address (the test's public URL has no port). */
function linkOf(on: TestGateway, task: z.infer<typeof TaskSchema>): string {
  const link = new URL(/(http:\/\/\S+\/approvals\/\S+)/.exec(task.statusMessage ?? '')?.[1] ?? 'http://none');
  return `${on.url}${link.pathname}${link.search}`;
}

/** The approval id a waiting task names in its status message. */
function approvalIdOf(task: z.infer<typeof TaskSchema>): string {
  const id = /\(approval ([A-Za-z0-9_-]+)\)/.exec(task.statusMessage ?? '')?.[1];
  if (id === undefined) throw new Error(`no approval in ${task.statusMessage}`);
  return id;
}

/** The tool-call outcome records of `open_deleteItem` in acme. */
async function outcomeRecords(on: TestGateway): Promise<Record<string, unknown>[]> {
  const response = await admin(on, 'GET', '/tenants/acme/audit?kind=tool_call&tool=open_deleteItem&limit=1000');
  return ((await response.json()) as { records: Record<string, unknown>[] }).records;
}

const deletes = (api: FakeApi, itemId: string) =>
  api.received.filter((r) => r.method === 'DELETE' && r.path.endsWith(`/items/${itemId}`)).length;

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-approval-tasks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface TwoProcesses {
  readonly api: FakeApi;
  readonly first: TestGateway;
  readonly second: TestGateway;
  close(): Promise<void>;
}

/** The fake API and two gateway processes on one fresh database of `kind`, `settings` added to their config. */
async function startTwoProcesses(
  kind: TestDatabaseKind,
  settings: Record<string, unknown> = {},
): Promise<TwoProcesses> {
  const api = await startFakeApi();
  const database = await kind.create();
  const shared = {
    adminToken,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    masterKey: randomBytes(32).toString('base64'),
    tenants: tenants(api),
    ...settings,
  };
  const first = await startTestGateway(shared, { store: database.url });
  const second = await startTestGateway(shared, { store: database.url });
  return {
    api,
    first,
    second,
    async close() {
      await first.close();
      await second.close();
      await api.close();
      await database.drop();
    },
  };
}

describe.each(testDatabases(dir).filter((kind) => kind.enabled))('approval tasks on $name, two processes', (kind) => {
  let processes: TwoProcesses | undefined;
  let api: FakeApi;
  let first: TestGateway;
  let second: TestGateway;

  beforeAll(async () => {
    processes = await startTwoProcesses(kind);
    ({ api, first, second } = processes);
  });

  afterAll(async () => {
    await processes?.close();
  });

  it('advertises tasks for tools/call and lets every tool run as a task', async () => {
    const client = await taskClient(first);
    try {
      expect(client.getServerCapabilities()?.['tasks']).toEqual({ requests: { tools: { call: {} } }, cancel: {} });
      const { tools } = await client.listTools();
      expect(tools.find((t) => t.name === 'open_deleteItem')?.execution).toEqual({ taskSupport: 'optional' });
    } finally {
      await client.close();
    }
  });

  it('approved through the admin API of one process, the task completes in the other with the tool result; the call runs once, one outcome record', async () => {
    const before = (await outcomeRecords(first)).length;
    const agent = await taskClient(first);
    const elsewhere = await taskClient(second);
    try {
      const task = await startTask(agent, 't1');
      expect(task.status).toBe('working');
      expect(task.taskId).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(task.statusMessage).toMatch(/\/approvals\/[^?]+\?tenant=acme&sig=/);
      expect((await getTask(elsewhere, task.taskId)).status).toBe('working');
      expect(deletes(api, 't1')).toBe(0);
      expect((await outcomeRecords(first)).length).toBe(before);

      const approvalId = approvalIdOf(task);
      expect((await admin(first, 'POST', `/tenants/acme/approvals/${approvalId}/approve`)).status).toBe(200);

      // The result is asked from the other process while both are polled too: one claim wins, the call runs once.
      const [result, ...polled] = await Promise.all([
        taskResult(elsewhere, task.taskId),
        ...[agent, elsewhere, agent, elsewhere, agent].map((client) => getTask(client, task.taskId)),
      ]);
      expect(result.isError).toBeUndefined();
      expect(result._meta?.['io.modelcontextprotocol/related-task']).toEqual({ taskId: task.taskId });
      for (const seen of polled) expect(['working', 'completed']).toContain(seen.status);
      expect((await getTask(agent, task.taskId)).status).toBe('completed');
      expect(await taskResult(agent, task.taskId)).toEqual(result);
      expect(deletes(api, 't1')).toBe(1);

      await expect.poll(async () => (await outcomeRecords(first)).length - before).toBe(1);
      const records = await outcomeRecords(first);
      expect(records[0]).toMatchObject({ decision: 'allow', code: null, upstreamStatus: 204 });
      expect((await approvalsOf(first)).find((a) => a.id === approvalId)?.status).toBe('consumed');
    } finally {
      await agent.close();
      await elsewhere.close();
    }
  });

  it('denied by a person, the task fails with a clear approval_denied result; nothing runs; one outcome record', async () => {
    const before = (await outcomeRecords(first)).length;
    const agent = await taskClient(second);
    try {
      const task = await startTask(agent, 't2');
      const waiting = taskResult(agent, task.taskId);
      expect((await admin(first, 'POST', `/tenants/acme/approvals/${approvalIdOf(task)}/deny`)).status).toBe(200);
      const result = await waiting;
      expect(result.isError).toBe(true);
      expect(result.structuredContent?.['error']).toMatchObject({
        code: 'approval_denied',
        details: { reason: 'denied' },
      });
      expect(result.content[0]?.text).toMatch(/A person denied this call of open_deleteItem; it did not run/);
      expect((await getTask(agent, task.taskId)).status).toBe('failed');
      expect(deletes(api, 't2')).toBe(0);
      await expect.poll(async () => (await outcomeRecords(first)).length - before).toBe(1);
      const records = await outcomeRecords(first);
      expect(records[0]).toMatchObject({ decision: 'deny', code: 'approval_denied', upstreamStatus: null });
    } finally {
      await agent.close();
    }
  });

  it('tasks/cancel is a denial: the approval request is withdrawn (decided by the client key), nothing runs', async () => {
    const before = (await outcomeRecords(first)).length;
    const agent = await taskClient(first);
    try {
      const task = await startTask(agent, 't3');
      const cancelled = await cancelTask(agent, task.taskId);
      expect(cancelled.status).toBe('cancelled');
      const approval = (await approvalsOf(first)).find((a) => a.id === approvalIdOf(task));
      expect(approval).toMatchObject({ status: 'denied', decidedBy: 'client:agent' });
      const result = await taskResult(agent, task.taskId);
      expect(result.structuredContent?.['error']).toMatchObject({
        code: 'approval_denied',
        details: { reason: 'cancelled' },
      });
      // A task that has ended cannot be cancelled again (-32602), and a person can no longer approve its request.
      await expect(cancelTask(agent, task.taskId)).rejects.toMatchObject({ code: -32602 });
      expect((await admin(first, 'POST', `/tenants/acme/approvals/${approvalIdOf(task)}/approve`)).status).toBe(400);
      expect(deletes(api, 't3')).toBe(0);
      await expect.poll(async () => (await outcomeRecords(first)).length - before).toBe(1);
      const records = await outcomeRecords(first);
      expect(records[0]).toMatchObject({ decision: 'deny', code: 'approval_denied' });
    } finally {
      await agent.close();
    }
  });

  it('another client key, and a key of another tenant, cannot read, wait for or cancel the task: the same answer as an unknown id', async () => {
    const agent = await taskClient(first);
    const other = await taskClient(second, otherKey);
    const globex = await taskClient(first, globexKey, 'globex');
    try {
      const task = await startTask(agent, 't4');
      for (const client of [other, globex]) {
        for (const call of [getTask, taskResult, cancelTask]) {
          await expect(call(client, task.taskId)).rejects.toMatchObject({
            code: -32602,
            message: expect.stringMatching(/No such task/),
          });
        }
      }
      await expect(getTask(agent, 'x'.repeat(32))).rejects.toMatchObject({
        code: -32602,
        message: expect.stringMatching(/No such task/),
      });
      expect((await getTask(agent, task.taskId)).status).toBe('working');
      expect((await approvalsOf(first)).find((a) => a.id === approvalIdOf(task))?.status).toBe('pending');
    } finally {
      await agent.close();
      await other.close();
      await globex.close();
    }
  });

  it('a task never lets the agent approve itself: the link without an approver sign-in decides nothing, and the task keeps waiting', async () => {
    const agent = await taskClient(first);
    try {
      const task = await startTask(agent, 't5');
      // The agent's attack of review finding 7 with the link its task shows, its own key as the approver token.
      expect(await agentApproves(linkOf(first, task), { approverToken: agentKey })).toBe(401);
      expect((await getTask(agent, task.taskId)).status).toBe('working');
      expect((await approvalsOf(first)).find((a) => a.id === approvalIdOf(task))?.status).toBe('pending');
      expect(deletes(api, 't5')).toBe(0);
    } finally {
      await agent.close();
    }
  });

  it('a call that needs no approval, asked as a task, ends at once with its result', async () => {
    const agent = await taskClient(first);
    try {
      const { task } = await agent.request(
        { method: 'tools/call', params: { name: 'open_getItem', arguments: { itemId: 'r1' }, task: {} } } as never,
        CreateTaskSchema,
      );
      expect(task.status).toBe('completed');
      const result = await taskResult(agent, task.taskId);
      expect(result.isError).toBeUndefined();
      await expect(
        agent.request(
          { method: 'tools/call', params: { name: 'nope', arguments: {}, task: {} } } as never,
          CreateTaskSchema,
        ),
      ).rejects.toMatchObject({ code: -32602 });
    } finally {
      await agent.close();
    }
  });

  it.skipIf(chromiumMissing() !== undefined)(
    'a person approves in Chromium from the link the task shows; the task completes',
    async () => {
      const chromium = await launchChromium();
      const agent = await taskClient(second);
      try {
        const task = await startTask(agent, 't6');
        const link = linkOf(second, task);
        const context = await chromium.newContext();
        const page = await context.newPage();
        expect((await page.goto(link))?.status()).toBe(200);
        await page.getByLabel('Approver token').fill(approverToken);
        const [decided] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST'),
          page.getByRole('button', { name: 'Approve this call once' }).click(),
        ]);
        expect(decided.status()).toBe(200);
        await chromium.screenshot(page, `approval-task-approved-${kind.name}`);
        await context.close();
        const result = await taskResult(agent, task.taskId);
        expect(result.isError).toBeUndefined();
        expect(deletes(api, 't6')).toBe(1);
      } finally {
        await agent.close();
        await chromium.close();
      }
    },
  );
});

describe.each(testDatabases(dir).filter((kind) => kind.enabled))(
  'abandoned approval tasks on $name, two processes',
  (kind) => {
    let processes: TwoProcesses | undefined;
    let api: FakeApi;
    let first: TestGateway;
    let second: TestGateway;

    beforeAll(async () => {
      // Approvals wait one second and stay usable one more: a task is kept for two seconds.
      processes = await startTwoProcesses(kind, { approvals: { ttlSeconds: 1 } });
      ({ api, first, second } = processes);
    });

    afterAll(async () => {
      await processes?.close();
    });

    it('abandoned_task_no_outcome_record: tasks nobody asks about again get one outcome record each, however many processes sweep', async () => {
      const agent = await taskClient(first);
      let denied: z.infer<typeof TaskSchema>;
      let approved: z.infer<typeof TaskSchema>;
      try {
        denied = await startTask(agent, 'ab1');
        approved = await startTask(agent, 'ab2');
        expect((await admin(second, 'POST', `/tenants/acme/approvals/${approvalIdOf(denied)}/deny`)).status).toBe(200);
        expect((await admin(second, 'POST', `/tenants/acme/approvals/${approvalIdOf(approved)}/approve`)).status).toBe(
          200,
        );
      } finally {
        // The client goes away and never asks again.
        await agent.close();
      }
      expect(await outcomeRecords(first)).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 2_100));

      const sweeps = [first, second, first, second].map((on) => {
        const tasks = on.gateway.approvalTasks;
        if (tasks === undefined) throw new Error('no approval tasks');
        return tasks.sweepExpired();
      });
      expect((await Promise.all(sweeps)).reduce((sum, taken) => sum + taken, 0)).toBe(2);
      const records = await outcomeRecords(first);
      expect(records.map((r) => [r['clientKey'], r['decision'], r['code']]).sort()).toEqual([
        ['agent', 'deny', 'approval_denied'],
        ['agent', 'error', 'cancelled'],
      ]);
      expect(new Set(records.map((r) => r['requestId'])).size).toBe(2);
      expect(deletes(api, 'ab1') + deletes(api, 'ab2')).toBe(0);
      // The tasks are gone: a later sweep takes nothing and writes nothing.
      expect(await second.gateway.approvalTasks?.sweepExpired()).toBe(0);
      expect(await outcomeRecords(second)).toHaveLength(2);
    });
  },
);
