// Pure cost arithmetic in integer micro-dollars (never floats for money). Prices come from the
// price_catalog table; these functions only multiply, rounding up to whole micro-dollars.
export function llamaparseCostMicroUsd(credits: number, microUsdPerCredit: number): number {
  assertWhole(credits, 'credits');
  assertWhole(microUsdPerCredit, 'microUsdPerCredit');
  return credits * microUsdPerCredit;
}

export function llamaparseCredits(pages: number, creditsPerPage: number): number {
  assertWhole(pages, 'pages');
  assertWhole(creditsPerPage, 'creditsPerPage');
  return pages * creditsPerPage;
}

/** Tokens at a price per million tokens, rounded up: 1 token at $0.02/1M costs 1 micro-dollar. */
export function tokenCostMicroUsd(tokens: number, microUsdPerMillionTokens: number): number {
  assertWhole(tokens, 'tokens');
  assertWhole(microUsdPerMillionTokens, 'microUsdPerMillionTokens');
  const product = BigInt(tokens) * BigInt(microUsdPerMillionTokens);
  return Number((product + 999_999n) / 1_000_000n);
}

export function formatUsd(microUsd: number | bigint): string {
  const value = BigInt(microUsd);
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  const dollars = abs / 1_000_000n;
  const micros = (abs % 1_000_000n).toString().padStart(6, '0');
  return `${sign}$${dollars}.${micros.slice(0, 4)}`;
}

/** Dollars as typed by a person ("0.50", "12") to micro-dollars, exactly (no float arithmetic). */
export function parseUsd(text: string): number {
  const match = /^\s*\$?(\d+)(?:\.(\d{1,6}))?\s*$/.exec(text);
  if (!match) throw new RangeError(`"${text}" is not an amount in dollars (e.g. 0.50)`);
  return Number(BigInt(match[1]!) * 1_000_000n + BigInt((match[2] ?? '').padEnd(6, '0')));
}

function assertWhole(n: number, name: string) {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a whole number >= 0, got ${n}`);
}
