import { itemClass, itemTotalBytes, slabSizes } from "./slabs.js";
import type { Item } from "./store.js";

/**
 * `stats` output in memcached 1.6's shape: the same names in the same order
 * (clients and dashboards parse them), with the embedded server's own
 * values where it has them and memcached's defaults elsewhere.
 */
export interface ServerStats {
  currConnections: number;
  totalConnections: number;
  rejectedConnections: number;
  /** Commands framed (every protocol). */
  commands: number;
  cmdGet: number;
  cmdSet: number;
  cmdFlush: number;
  cmdTouch: number;
  cmdMeta: number;
  getHits: number;
  getMisses: number;
  deleteMisses: number;
  deleteHits: number;
  incrMisses: number;
  incrHits: number;
  decrMisses: number;
  decrHits: number;
  casMisses: number;
  casHits: number;
  casBadval: number;
  touchHits: number;
  touchMisses: number;
  storeTooLarge: number;
  storeNoMemory: number;
  bytesRead: number;
  bytesWritten: number;
}

export function newServerStats(): ServerStats {
  return {
    currConnections: 0,
    totalConnections: 0,
    rejectedConnections: 0,
    commands: 0,
    cmdGet: 0,
    cmdSet: 0,
    cmdFlush: 0,
    cmdTouch: 0,
    cmdMeta: 0,
    getHits: 0,
    getMisses: 0,
    deleteMisses: 0,
    deleteHits: 0,
    incrMisses: 0,
    incrHits: 0,
    decrMisses: 0,
    decrHits: 0,
    casMisses: 0,
    casHits: 0,
    casBadval: 0,
    touchHits: 0,
    touchMisses: 0,
    storeTooLarge: 0,
    storeNoMemory: 0,
    bytesRead: 0,
    bytesWritten: 0,
  };
}

/** What `stats` reads from the server. */
export interface StatsSource {
  stats: ServerStats;
  version: string;
  port: number;
  host: string;
  maxBytes: number;
  itemSizeMax: number;
  verbosity: number;
  processStarted: number;
  now: number;
  storeBytes: number;
  currItems: number;
  totalItems: number;
  evictions: number;
  getExpired: number;
  getFlushed: number;
  /** Slab classes that have ever held memory. */
  classesUsed: ReadonlySet<number>;
  items: () => Iterable<Item>;
}

const GENERAL =
  "pid uptime time version libevent pointer_size rusage_user rusage_system max_connections curr_connections total_connections rejected_connections connection_structures response_obj_oom response_obj_count response_obj_bytes read_buf_count read_buf_bytes read_buf_bytes_free read_buf_oom reserved_fds cmd_get cmd_set cmd_flush cmd_touch cmd_meta get_hits get_misses get_expired get_flushed delete_misses delete_hits incr_misses incr_hits decr_misses decr_hits cas_misses cas_hits cas_badval touch_hits touch_misses store_too_large store_no_memory auth_cmds auth_errors bytes_read bytes_written limit_maxbytes accepting_conns listen_disabled_num time_in_listen_disabled_us threads conn_yields hash_power_level hash_bytes hash_is_expanding slab_reassign_rescues slab_reassign_chunk_rescues slab_reassign_evictions_nomem slab_reassign_inline_reclaim slab_reassign_busy_items slab_reassign_busy_deletes slab_reassign_running slabs_moved lru_crawler_running lru_crawler_starts lru_maintainer_juggles malloc_fails log_worker_dropped log_worker_written log_watcher_skipped log_watcher_sent log_watchers unexpected_napi_ids round_robin_fallback bytes curr_items total_items slab_global_page_pool expired_unfetched evicted_unfetched evicted_active evictions reclaimed crawler_reclaimed crawler_items_checked lrutail_reflocked moves_to_cold moves_to_warm moves_within_lru direct_reclaims lru_bumps_dropped".split(
    " ",
  );

/** `stats` (general): [name, value] pairs in memcached's order. */
export function generalStats(s: StatsSource): [string, string][] {
  const st = s.stats;
  const cpu = process.cpuUsage();
  const known: Record<string, number | string> = {
    pid: process.pid,
    uptime: s.now,
    time: s.processStarted + s.now,
    version: s.version,
    libevent: "2.1.12-stable",
    pointer_size: 64,
    rusage_user: (cpu.user / 1e6).toFixed(6),
    rusage_system: (cpu.system / 1e6).toFixed(6),
    max_connections: 1024,
    curr_connections: st.currConnections,
    total_connections: st.totalConnections,
    rejected_connections: st.rejectedConnections,
    connection_structures: st.currConnections,
    reserved_fds: 20,
    cmd_get: st.cmdGet,
    cmd_set: st.cmdSet,
    cmd_flush: st.cmdFlush,
    cmd_touch: st.cmdTouch,
    cmd_meta: st.cmdMeta,
    get_hits: st.getHits,
    get_misses: st.getMisses,
    get_expired: s.getExpired,
    get_flushed: s.getFlushed,
    delete_misses: st.deleteMisses,
    delete_hits: st.deleteHits,
    incr_misses: st.incrMisses,
    incr_hits: st.incrHits,
    decr_misses: st.decrMisses,
    decr_hits: st.decrHits,
    cas_misses: st.casMisses,
    cas_hits: st.casHits,
    cas_badval: st.casBadval,
    touch_hits: st.touchHits,
    touch_misses: st.touchMisses,
    store_too_large: st.storeTooLarge,
    store_no_memory: st.storeNoMemory,
    bytes_read: st.bytesRead,
    bytes_written: st.bytesWritten,
    limit_maxbytes: s.maxBytes,
    accepting_conns: 1,
    threads: 4,
    hash_power_level: 16,
    hash_bytes: 524288,
    lru_crawler_starts: 1,
    bytes: s.storeBytes,
    curr_items: s.currItems,
    total_items: s.totalItems,
    evictions: s.evictions,
  };
  return GENERAL.map((n) => [n, String(known[n] ?? 0)]);
}

const SETTINGS: [string, string][] = [
  ["maxbytes", "67108864"],
  ["maxconns", "1024"],
  ["tcpport", "21299"],
  ["udpport", "0"],
  ["inter", "127.0.0.1"],
  ["verbosity", "2"],
  ["oldest", "0"],
  ["evictions", "on"],
  ["domain_socket", "NULL"],
  ["umask", "700"],
  ["shutdown_command", "no"],
  ["growth_factor", "1.25"],
  ["chunk_size", "48"],
  ["num_threads", "4"],
  ["num_threads_per_udp", "4"],
  ["stat_key_prefix", ":"],
  ["detail_enabled", "no"],
  ["reqs_per_event", "20"],
  ["cas_enabled", "yes"],
  ["tcp_backlog", "1024"],
  ["binding_protocol", "auto-negotiate"],
  ["auth_enabled_sasl", "no"],
  ["auth_enabled_ascii", "no"],
  ["item_size_max", "1048576"],
  ["maxconns_fast", "yes"],
  ["hashpower_init", "0"],
  ["slab_reassign", "yes"],
  ["slab_automove", "1"],
  ["slab_automove_ratio", "0.80"],
  ["slab_automove_window", "30"],
  ["slab_chunk_max", "524288"],
  ["lru_crawler", "yes"],
  ["lru_crawler_sleep", "100"],
  ["lru_crawler_tocrawl", "0"],
  ["tail_repair_time", "0"],
  ["flush_enabled", "yes"],
  ["dump_enabled", "yes"],
  ["hash_algorithm", "murmur3"],
  ["lru_maintainer_thread", "yes"],
  ["lru_segmented", "yes"],
  ["hot_lru_pct", "20"],
  ["warm_lru_pct", "40"],
  ["hot_max_factor", "0.20"],
  ["warm_max_factor", "2.00"],
  ["temp_lru", "no"],
  ["temporary_ttl", "61"],
  ["idle_timeout", "0"],
  ["watcher_logbuf_size", "262144"],
  ["worker_logbuf_size", "65536"],
  ["read_buf_mem_limit", "0"],
  ["track_sizes", "no"],
  ["inline_ascii_response", "no"],
  ["ext_item_size", "512"],
  ["ext_item_age", "4294967295"],
  ["ext_low_ttl", "0"],
  ["ext_recache_rate", "2000"],
  ["ext_wbuf_size", "4194304"],
  ["ext_compact_under", "0"],
  ["ext_drop_under", "0"],
  ["ext_max_sleep", "1000000"],
  ["ext_max_frag", "0.80"],
  ["slab_automove_freeratio", "0.010"],
  ["ext_drop_unread", "no"],
  ["ssl_enabled", "no"],
  ["ssl_chain_cert", "(null)"],
  ["ssl_key", "(null)"],
  ["ssl_verify_mode", "0"],
  ["ssl_keyformat", "1"],
  ["ssl_ciphers", "NULL"],
  ["ssl_ca_cert", "NULL"],
  ["ssl_wbuf_size", "16384"],
  ["ssl_session_cache", "no"],
  ["ssl_kernel_tls", "no"],
  ["ssl_min_version", "tlsv1.2"],
  ["num_napi_ids", "(null)"],
  ["memory_file", "(null)"],
];

/** `stats settings`. */
export function settingsStats(s: StatsSource): [string, string][] {
  const own: Record<string, string> = {
    maxbytes: String(s.maxBytes),
    tcpport: String(s.port),
    inter: s.host,
    verbosity: String(s.verbosity),
    item_size_max: String(s.itemSizeMax),
    slab_chunk_max: String(Math.floor(s.itemSizeMax / 2)),
  };
  return SETTINGS.map(([n, v]) => [n, own[n] ?? v]);
}

/** ITEM_ntotal of a stored item. */
export function itemBytes(it: Item): number {
  return itemTotalBytes(it.key.length, it.flags, it.valueBytes);
}

/** The class memcached counts the item in (its header's, for a chunked item). */
export function classOf(it: Item, itemSizeMax: number): number {
  return itemClass(it.key.length, it.flags, it.valueBytes, itemSizeMax);
}

interface ClassTotals {
  number: number;
  oldest: number;
  bytes: number;
}

function perClass(s: StatsSource): Map<number, ClassTotals> {
  const by = new Map<number, ClassTotals>();
  for (const it of s.items()) {
    const n = itemBytes(it);
    const cls = classOf(it, s.itemSizeMax);
    const c = by.get(cls) ?? { number: 0, oldest: it.time, bytes: 0 };
    c.number++;
    c.bytes += n;
    if (it.time < c.oldest) c.oldest = it.time;
    by.set(cls, c);
  }
  return new Map([...by.entries()].sort((a, b) => a[0] - b[0]));
}

/** `stats items`. */
export function itemsStats(s: StatsSource): [string, string][] {
  const out: [string, string][] = [];
  for (const [cls, c] of perClass(s)) {
    const p = `items:${cls}:`;
    const age = String(s.now - c.oldest);
    const rows: [string, string | number][] = [
      ["number", c.number],
      ["number_hot", c.number],
      ["number_warm", 0],
      ["number_cold", 0],
      ["age_hot", age],
      ["age_warm", 0],
      ["age", age],
      ["mem_requested", c.bytes],
    ];
    for (const n of [
      "evicted",
      "evicted_nonzero",
      "evicted_time",
      "outofmemory",
      "tailrepairs",
      "reclaimed",
      "expired_unfetched",
      "evicted_unfetched",
      "evicted_active",
      "crawler_reclaimed",
      "crawler_items_checked",
      "lrutail_reflocked",
      "moves_to_cold",
      "moves_to_warm",
      "moves_within_lru",
      "direct_reclaims",
      "hits_to_hot",
      "hits_to_warm",
      "hits_to_cold",
      "hits_to_temp",
    ])
      rows.push([n, 0]);
    for (const [n, v] of rows) out.push([p + n, String(v)]);
  }
  return out;
}

/** `stats slabs`: every class that has held memory (memcached keeps its pages), with the live items in each. */
export function slabsStats(s: StatsSource): [string, string][] {
  const out: [string, string][] = [];
  const live = perClass(s);
  const sizes = slabSizes(s.itemSizeMax);
  let pages = 0;
  const classes = [...new Set([...s.classesUsed, ...live.keys()])].sort((a, b) => a - b);
  for (const cls of classes) {
    const size = sizes[cls - 1] ?? 0;
    const perPage = Math.max(1, Math.floor(s.itemSizeMax / size));
    const used = live.get(cls)?.number ?? 0;
    const total = Math.max(1, Math.ceil(used / perPage));
    pages += total;
    const rows: [string, number][] = [
      ["chunk_size", size],
      ["chunks_per_page", perPage],
      ["total_pages", total],
      ["total_chunks", total * perPage],
      ["used_chunks", used],
      ["free_chunks", total * perPage - used],
      ["free_chunks_end", 0],
      ["get_hits", 0],
      ["cmd_set", 0],
      ["delete_hits", 0],
      ["incr_hits", 0],
      ["decr_hits", 0],
      ["cas_hits", 0],
      ["cas_badval", 0],
      ["touch_hits", 0],
    ];
    for (const [n, v] of rows) out.push([`${cls}:${n}`, String(v)]);
  }
  out.push(["active_slabs", String(classes.length)], ["total_malloced", String(pages * s.itemSizeMax)]);
  return out;
}

/** `stats sizes` with size tracking off, as memcached answers by default. */
export function sizesStats(): [string, string][] {
  return [["sizes_status", "disabled"]];
}
