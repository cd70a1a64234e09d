/**
 * The key of a tool: its operationId, else `{method}_{path}`, with every character outside `[a-zA-Z0-9_-]`
 * replaced by `_` (runs squeezed, ends trimmed). Uniqueness is the caller's job (`assignOperationKeys`).
 */
export function toOperationKey(operationId: string | undefined, method: string, path: string): string {
  const fromId = operationId === undefined ? '' : sanitiseKey(operationId);
  return fromId !== '' ? fromId : sanitiseKey(`${method.toLowerCase()}_${path}`) || method.toLowerCase();
}

/**
 * Keys for operations in document order, unique within the catalogue: a repeated key gets `_2`, `_3` ... in
 * order of appearance, so re-importing the same description yields the same keys.
 */
export function assignOperationKeys(
  operations: readonly { readonly operationId: string | undefined; readonly method: string; readonly path: string }[],
): string[] {
  const used = new Set<string>();
  const bases = operations.map((operation) => toOperationKey(operation.operationId, operation.method, operation.path));
  const firstOf = new Set(bases);
  return bases.map((base) => {
    let key = base;
    // A suffixed key must not take the plain key of a later operation either.
    for (let n = 2; used.has(key) || (key !== base && firstOf.has(key)); n++) key = `${base}_${n}`;
    used.add(key);
    return key;
  });
}

function sanitiseKey(raw: string): string {
  return raw
    .replace(/[^a-zA-Z0-9_-]+/g, '_')
    .replace(/_{2,}/g, '_')
    .replace(/^[_-]+|[_-]+$/g, '');
}
