/**
 * Formats an address and port (only when a report needs a flow's name, never
 * per packet). IPv4 is one 32-bit word; IPv6 four, most significant first.
 */
export function formatAddress(words: readonly number[], port: number): string {
  if (words.length === 1) {
    const a = words[0]!;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}:${port}`;
  }
  const groups: number[] = [];
  for (const w of words) groups.push(w >>> 16, w & 0xffff);
  // RFC 5952: compress the longest run of two or more zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  const text = best < 0 ? hex.join(":") : `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
  return `[${text}]:${port}`;
}
