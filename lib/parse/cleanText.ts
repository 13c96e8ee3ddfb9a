// Pure: text PostgreSQL can store. NUL is not allowed in text or jsonb, and lone UTF-16 surrogates
// (from broken PDF text layers) are not valid Unicode: drop the first, replace the second with U+FFFD.
export function cleanText(text: string): string {
  return text.replace(/\u0000/g, '').toWellFormed();
}
