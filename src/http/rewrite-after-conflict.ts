/**
 * Writes of one tenant's document through several processes at once (a script creating resources in parallel, two
 * people editing in the console) each lose to one of the others per round. A writer applies its change again to
 * the newer revision after a random pause growing up to 200 ms, so that the writers spread out, and gives up after
 * `maxRewriteAttempts` tries in all (finding concurrent_resource_writes_refused: five immediate tries refused three
 * of nine concurrent creations). The admin API's resource routes and the console's forms both.
 */
export const maxRewriteAttempts = 10;

/** The pause before try `attempt + 1`. */
export function pauseBeforeRewrite(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 10 * 2 ** attempt)));
}
