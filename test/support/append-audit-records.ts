/**
 * Child process of the audit suite: opens the store named on the command line and appends `count` tool-call
 * records for `tenant` through the batched audit log, in bursts of `burst` concurrent calls, so several
 * processes race on the tenant's chain head.
 * Usage: node --import tsx append-audit-records.ts <store url> <tenant> <count> <burst>
 */

import { createAuditLog } from '../../src/audit/index.ts';
import { systemClock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';

const [url = '', tenant = 't', count = '0', burst = '10'] = process.argv.slice(2);
const store = await openStore(url, { busyTimeoutMs: 10_000 });
try {
  await store.migrate();
  const audit = await createAuditLog({ repository: store.audit, clock: systemClock, tenants: [tenant] });
  for (let done = 0; done < Number(count); done += Number(burst)) {
    await Promise.all(
      Array.from({ length: Math.min(Number(burst), Number(count) - done) }, (_, i) =>
        audit.recordToolCall({
          tenant,
          requestId: `${process.pid}-${done + i}`,
          toolset: 's',
          clientKey: 'k',
          subject: 'shared',
          tool: 'pets_list',
          method: 'GET',
          pathTemplate: '/pets',
          decision: 'allow',
          code: null,
          upstreamStatus: 200,
          latencyMs: 1.5,
        }),
      ),
    );
  }
  await audit.close();
} finally {
  await store.close();
}
