/**
 * The agent's attack of review finding 7, with nothing but the tool result: open the link for the page's cookie
 * and CSRF token, post `decision=approve` (with whatever else it may guess).
 */
export async function agentApproves(link: string, extra: Record<string, string> = {}): Promise<number> {
  const page = await fetch(link);
  const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const url = new URL(link);
  const answer = await fetch(`${url.origin}${url.pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: url.origin },
    body: new URLSearchParams({
      tenant: url.searchParams.get('tenant') ?? '',
      sig: url.searchParams.get('sig') ?? '',
      csrf,
      decision: 'approve',
      ...extra,
    }).toString(),
  });
  await answer.body?.cancel();
  return answer.status;
}
