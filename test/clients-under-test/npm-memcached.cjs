// The `memcached` package from npm, used as an application would: set a key,
// read it back a few times, close. Talks to MEMCACHED_SERVERS.
const Memcached = require("memcached");

const client = new Memcached(process.env.MEMCACHED_SERVERS, { retries: 0, timeout: 2000, poolSize: 1 });
const call = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

(async () => {
  await call((cb) => client.set("npm:user:1", "alice", 60, cb));
  for (let i = 0; i < 5; i++) {
    const v = await call((cb) => client.get("npm:user:1", cb));
    if (v !== "alice") throw new Error(`unexpected value ${v}`);
  }
  await call((cb) => client.getMulti(["npm:user:1", "npm:user:2"], cb));
  client.end();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
