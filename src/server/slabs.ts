/**
 * Where memcached 1.6 would put an item in its slab classes (default -n 48,
 * -f 1.25): `stats items`, `stats slabs` and `me` name classes by number,
 * so the embedded server computes the same numbers. Items larger than the
 * largest chunk (half the item limit) are "chunked": a header in a small
 * class plus chunks of the largest class and one sized to the rest.
 */
const ITEM_HEADER = 48;
const CHUNK_HEADER = 48;
const CAS = 8;

const SIZES = new Map<number, number[]>();

/** Chunk size of every class for this item limit, smallest first (slabs_init). */
export function slabSizes(itemSizeMax: number): number[] {
  let sizes = SIZES.get(itemSizeMax);
  if (sizes !== undefined) return sizes;
  const chunkMax = Math.floor(itemSizeMax / 2);
  sizes = [];
  let size = ITEM_HEADER + 48;
  while (sizes.length < 62 && size < chunkMax / 1.25) {
    if (size % 8) size += 8 - (size % 8);
    sizes.push(size);
    size = Math.floor(size * 1.25);
  }
  sizes.push(chunkMax);
  SIZES.set(itemSizeMax, sizes);
  return sizes;
}

/** slabs_clsid: the first class whose chunks hold `bytes` (1-based). */
export function slabClass(bytes: number, itemSizeMax: number): number {
  const sizes = slabSizes(itemSizeMax);
  for (let i = 0; i < sizes.length; i++) if (bytes <= sizes[i]!) return i + 1;
  return sizes.length;
}

/** ITEM_ntotal: header, key + NUL, flags (when not 0), value + CRLF, cas. */
export function itemTotalBytes(keyBytes: number, flags: number, valueBytes: number): number {
  return ITEM_HEADER + keyBytes + 1 + (flags === 0 ? 0 : 4) + valueBytes + 2 + CAS;
}

/** The class an item is counted in: its own, or its header's when it is chunked. */
export function itemClass(keyBytes: number, flags: number, valueBytes: number, itemSizeMax: number): number {
  const total = itemTotalBytes(keyBytes, flags, valueBytes);
  if (total <= Math.floor(itemSizeMax / 2)) return slabClass(total, itemSizeMax);
  return slabClass(keyBytes + 1 + (flags === 0 ? 0 : 4) + ITEM_HEADER + CHUNK_HEADER + CAS, itemSizeMax);
}

/** Every class an item takes memory from (header, then chunks for a chunked item). */
export function itemClasses(keyBytes: number, flags: number, valueBytes: number, itemSizeMax: number): number[] {
  const head = itemClass(keyBytes, flags, valueBytes, itemSizeMax);
  const chunkMax = Math.floor(itemSizeMax / 2);
  if (itemTotalBytes(keyBytes, flags, valueBytes) <= chunkMax) return [head];
  const out = [head];
  let remain = valueBytes + 2;
  while (remain > 0) {
    const size = Math.min(remain + CHUNK_HEADER, chunkMax);
    out.push(slabClass(size, itemSizeMax));
    remain -= size - CHUNK_HEADER;
  }
  return out;
}
