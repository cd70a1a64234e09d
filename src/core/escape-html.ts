/** Escapes text for HTML element content and quoted attribute values (every page Gatehouse renders). */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}
