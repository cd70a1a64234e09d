import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type GatewayUnderTest,
  jsonResponse,
  openGatewayUnderTest,
} from '../../test/support/open-gateway-under-test.ts';

/**
 * Approval tasks over the real gateway (SQLite, fake upstream, manual clock): the time-driven cases the end-to-end
 * suite (test/e2e/approval-tasks.integration.test.ts) cannot wait for.
 */
const description = fileURLToPath(new URL('../../test/fixtures/fake-api.openapi.yaml', import.meta.url));
const key = 'gatehouse_sk_approval_tasks_unit_0123456789';

let under: GatewayUnderTest | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await under?.close();
  under = undefined;
});

async function open(ttlSeconds = 60): Promise<GatewayUnderTest> {
  return openGatewayUnderTest({
    approvals: { ttlSeconds },
    tenants: [
      {
        id: 'acme',
        services: [{ id: 'fake', openapi: description, baseUrl: 'https://api.example.com', auth: { type: 'none' } }],
        toolsets: [{ id: 'agent', tools: ['*'], access: 'write', approval: 'destructive' }],
        clientKeys: [{ name: 'agent', key, toolsets: ['agent'], subject: 'alice' }],
      },
    ],
  });
}

describe('approval tasks in time', () => {
  it('nobody decides: the task fails approval_denied (reason expired), nothing runs, one outcome record', async () => {
    under = await open();
    const caller = await under.callerOf('agent', key);
    const tasks = under.gateway.approvalTasks;
    if (tasks === undefined) throw new Error('no approval tasks');
    const task = await tasks.start(caller, 'fake_deleteItem', { itemId: 'x' }, 'r1');
    expect(task.status).toBe('working');
    under.clock.advance(61_000);
    const { task: ended, outcome } = await tasks.result(caller, task.id);
    expect(ended.status).toBe('failed');
    expect(outcome.ok ? undefined : [outcome.error.code, outcome.error.details['reason']]).toEqual([
      'approval_denied',
      'expired',
    ]);
    expect(under.upstream.calls).toHaveLength(0);
    const records = (await under.outcomes()).filter((r) => r.requestId === 'r1');
    expect(records.map((r) => [r.decision, r.code])).toEqual([['deny', 'approval_denied']]);
    // Kept for two approval lifetimes, then unknown.
    under.clock.advance(60_000);
    await expect(tasks.get(caller, task.id)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a task whose process died after its claim is taken up again, and its call does not run twice without a new approval', async () => {
    under = await open(600);
    const caller = await under.callerOf('agent', key);
    const tasks = under.gateway.approvalTasks;
    if (tasks === undefined) throw new Error('no approval tasks');
    const task = await tasks.start(caller, 'fake_deleteItem', { itemId: 'y' }, 'r2');
    const first = (await under.adapters.store.approvalTasks.get('acme', task.id))?.approvalId ?? '';
    await under.gateway.approvals?.decide('acme', first, 'approved', 'bob', 'admin_api');
    // The dead process: it claimed the task and consumed the approval (the call ran), then died before the end.
    const store = under.adapters.store;
    expect(
      await store.approvalTasks.transition('acme', task.id, 'working', { status: 'running', at: under.clock.now() }),
    ).toBe(true);
    expect(await store.approvals.consume('acme', first, under.clock.now())).toBe(true);
    expect((await tasks.get(caller, task.id)).status).toBe('working');
    under.clock.advance(5 * 60_000 + 1);
    const again = await tasks.get(caller, task.id);
    expect(again.status).toBe('working');
    const second = (await store.approvalTasks.get('acme', task.id))?.approvalId ?? '';
    expect(second).not.toBe(first);
    expect(under.upstream.calls).toHaveLength(0);
    await under.gateway.approvals?.decide('acme', second, 'approved', 'bob', 'admin_api');
    under.upstream.answer = () => jsonResponse(204, null);
    const { task: done } = await tasks.result(caller, task.id);
    expect(done.status).toBe('completed');
    expect(under.upstream.calls).toHaveLength(1);
  });

  it('abandoned_task_no_outcome_record: a decided task nobody asks about again gets its one outcome record after its TTL', async () => {
    // The gateway's own timers (a minute apart) are faked; the store's time is the manual clock.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    under = await open();
    under.gateway.start?.();
    const caller = await under.callerOf('agent', key);
    const tasks = under.gateway.approvalTasks;
    if (tasks === undefined) throw new Error('no approval tasks');
    const denied = await tasks.start(caller, 'fake_deleteItem', { itemId: 'd' }, 'r-denied');
    const approved = await tasks.start(caller, 'fake_deleteItem', { itemId: 'a' }, 'r-approved');
    await tasks.start(caller, 'fake_deleteItem', { itemId: 'u' }, 'r-undecided');
    const asked = await tasks.start(caller, 'fake_deleteItem', { itemId: 'k' }, 'r-asked');
    const store = under.adapters.store;
    const approvalOf = async (id: string) => (await store.approvalTasks.get('acme', id))?.approvalId ?? '';
    await under.gateway.approvals?.decide('acme', await approvalOf(denied.id), 'denied', 'bob', 'admin_api');
    await under.gateway.approvals?.decide('acme', await approvalOf(approved.id), 'approved', 'bob', 'admin_api');
    await under.gateway.approvals?.decide('acme', await approvalOf(asked.id), 'denied', 'bob', 'admin_api');
    // This one's client comes back once: its task ends and writes the call's record then.
    expect((await tasks.get(caller, asked.id)).status).toBe('failed');
    // Nobody asks again (no tasks/get, no tasks/result): two approval lifetimes pass, then the sweep's minute.
    under.clock.advance(120_000);
    await vi.advanceTimersByTimeAsync(60_000);
    const outcomes = async () =>
      (await under?.outcomes())
        ?.filter((r) => r.requestId.startsWith('r-'))
        .map((r) => [r.requestId, r.clientKey, r.tool, r.decision, r.code]);
    await expect.poll(outcomes).toHaveLength(4);
    expect(await outcomes()).toEqual(
      expect.arrayContaining([
        ['r-asked', 'agent', 'fake_deleteItem', 'deny', 'approval_denied'],
        ['r-denied', 'agent', 'fake_deleteItem', 'deny', 'approval_denied'],
        ['r-approved', 'agent', 'fake_deleteItem', 'error', 'cancelled'],
        ['r-undecided', 'agent', 'fake_deleteItem', 'deny', 'approval_denied'],
      ]),
    );
    expect(under.upstream.calls).toHaveLength(0);
    expect(await store.approvalTasks.get('acme', denied.id)).toBeUndefined();
    // Another minute: the tasks are gone, nothing is recorded twice.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await outcomes()).toHaveLength(4);
  });
});
