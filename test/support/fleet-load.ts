/**
 * The steady mixed load of the fleet fault-injection suite (issue 13): closed-loop MCP clients sending `tools/call`
 * through the balancer (reads, writes whose approval an admin grants before the call that runs, OAuth calls), with
 * every answer kept: when it started and ended, what it was, the gateway's `x-request-id` (the audit record's
 * `requestId`) and the process that answered (`x-gatehouse-backend`, set by the balancer).
 */

export type CallKind = 'read' | 'write' | 'oauth' | 'limited';

export interface CallResult {
  readonly kind: CallKind;
  readonly startedAt: number;
  readonly endedAt: number;
  /** `success`: HTTP 200 and not a tool error; `denied`: the tool error the step expected; else `error`. */
  readonly outcome: 'success' | 'denied' | 'error';
  readonly httpStatus?: number;
  /** The gateway's error code, or `network` when no HTTP answer arrived. */
  readonly code?: string;
  readonly requestId?: string;
  readonly backend?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface ToolCall {
  readonly kind: CallKind;
  readonly toolset: string;
  readonly clientKey: string;
  readonly tool: string;
  readonly arguments: Readonly<Record<string, unknown>>;
  /** A tool error with this code counts as `denied` (expected), not as an error. */
  readonly expectedDenial?: string;
}

let rpcId = 0;

/** One `tools/call` through `baseUrl`; never throws (a failure is a result). */
export async function callTool(baseUrl: string, call: ToolCall): Promise<CallResult> {
  const startedAt = performance.now();
  const base = { kind: call.kind, startedAt };
  try {
    const response = await fetch(`${baseUrl}/mcp/acme/${call.toolset}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${call.clientKey}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: ++rpcId,
        method: 'tools/call',
        params: { name: call.tool, arguments: call.arguments },
      }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    const endedAt = performance.now();
    const requestId = response.headers.get('x-request-id') ?? undefined;
    const backend = response.headers.get('x-gatehouse-backend') ?? undefined;
    const common = { ...base, endedAt, httpStatus: response.status, requestId, backend };
    let body: {
      result?: { isError?: boolean; structuredContent?: { error?: Record<string, unknown> } };
      error?: { data?: Record<string, unknown> };
    } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return { ...common, outcome: 'error', code: `http_${response.status}` };
    }
    // A tool's error is in its result; one raised before the call is dispatched (the client key could not be read:
    // store_unavailable, HTTP 503) is a JSON-RPC error whose `data` carries the same code.
    const error = body.result?.structuredContent?.error ?? body.error?.data;
    if (response.status === 200 && body.result !== undefined && body.result.isError !== true) {
      return { ...common, outcome: 'success' };
    }
    const code = typeof error?.['code'] === 'string' ? error['code'] : `http_${response.status}`;
    const details = (error?.['details'] ?? {}) as Record<string, unknown>;
    return { ...common, outcome: code === call.expectedDenial ? 'denied' : 'error', code, details };
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    return {
      ...base,
      endedAt: performance.now(),
      outcome: 'error',
      code: 'network',
      details: { error: `${String(error)}${cause === undefined ? '' : ` (${String(cause)})`}` },
    };
  }
}

export interface FleetLoad {
  readonly results: CallResult[];
  /** Admin approvals that failed (the write is then tried again with a new name). */
  readonly approvalFailures: () => number;
  stop(): Promise<void>;
}

export interface FleetLoadOptions {
  readonly baseUrl: string;
  readonly clientKey: string;
  readonly adminToken: string;
  readonly readers: number;
  readonly writers: number;
  readonly oauthCallers: number;
}

/** Starts the closed-loop clients; `stop()` waits for the calls in flight. */
export function startFleetLoad(options: FleetLoadOptions): FleetLoad {
  const results: CallResult[] = [];
  let running = true;
  let approvalFailures = 0;
  let sequence = 0;
  const { baseUrl, clientKey } = options;

  async function reader(): Promise<void> {
    while (running) {
      results.push(
        await callTool(baseUrl, {
          kind: 'read',
          toolset: 'reads',
          clientKey,
          tool: 'fake_getItem',
          arguments: { itemId: `r${++sequence}` },
        }),
      );
    }
  }

  async function oauthCaller(): Promise<void> {
    while (running) {
      results.push(
        await callTool(baseUrl, {
          kind: 'oauth',
          toolset: 'oauth',
          clientKey,
          tool: 'oauth_getResource',
          arguments: {},
        }),
      );
    }
  }

  async function approve(approvalId: string): Promise<boolean> {
    try {
      const response = await fetch(`${baseUrl}/api/v1/tenants/acme/approvals/${approvalId}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ by: 'fleet-test' }),
        signal: AbortSignal.timeout(60_000),
      });
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  }

  async function writer(): Promise<void> {
    while (running) {
      const call: ToolCall = {
        kind: 'write',
        toolset: 'writes',
        clientKey,
        tool: 'fake_createItem',
        arguments: { body: { name: `w${++sequence}` } },
        expectedDenial: 'approval_required',
      };
      const asked = await callTool(baseUrl, call);
      results.push(asked);
      const approvalId = asked.details?.['approvalId'];
      if (asked.outcome !== 'denied' || typeof approvalId !== 'string') continue;
      if (!(await approve(approvalId))) {
        approvalFailures++;
        continue;
      }
      // The approved call: it must run now (a second approval_required would be an error).
      results.push(await callTool(baseUrl, { ...call, expectedDenial: undefined }));
    }
  }

  const loops = [
    ...Array.from({ length: options.readers }, reader),
    ...Array.from({ length: options.writers }, writer),
    ...Array.from({ length: options.oauthCallers }, oauthCaller),
  ];
  return {
    results,
    approvalFailures: () => approvalFailures,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Successful calls per second in [from, to) (performance.now() times). */
export function throughput(results: readonly CallResult[], from: number, to: number): number {
  let count = 0;
  for (const result of results)
    if (result.outcome === 'success' && result.endedAt >= from && result.endedAt < to) count++;
  return (count * 1000) / (to - from);
}

/**
 * Milliseconds from `faultEnd` until the first 1-second window (sliding by 100 ms) whose throughput reaches
 * `fraction` of `baseline`; undefined when none does before `until`.
 */
export function recoveryMs(
  results: readonly CallResult[],
  options: { readonly faultEnd: number; readonly until: number; readonly baseline: number; readonly fraction: number },
): number | undefined {
  for (let start = options.faultEnd; start + 1_000 <= options.until; start += 100) {
    if (throughput(results, start, start + 1_000) >= options.baseline * options.fraction) {
      return start - options.faultEnd;
    }
  }
  return undefined;
}
