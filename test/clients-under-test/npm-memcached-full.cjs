// The `memcached` package from npm doing more than get and set: incr/decr,
// append/prepend, gets/cas, touch, delete, checking every answer. Talks to
// MEMCACHED_SERVERS. With --split every command leaves in two writes.
require("./split-writes.cjs");
const Memcached = require("memcached");

const client = new Memcached(process.env.MEMCACHED_SERVERS, { retries: 0, timeout: 2000, poolSize: 1 });
const call = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
const expect = (what, got, want) => {
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
};

(async () => {
  await call((cb) => client.set("npm:counter", 10, 60, cb));
  expect("incr", await call((cb) => client.incr("npm:counter", 5, cb)), 15);
  expect("decr", await call((cb) => client.decr("npm:counter", 20, cb)), 0);
  expect("incr missing", await call((cb) => client.incr("npm:none", 1, cb)), false);
  await call((cb) => client.set("npm:text", "middle", 60, cb));
  await call((cb) => client.append("npm:text", "-end", cb));
  await call((cb) => client.prepend("npm:text", "start-", cb));
  expect("append/prepend", await call((cb) => client.get("npm:text", cb)), "start-middle-end");
  const g = await call((cb) => client.gets("npm:text", cb));
  expect("gets value", g["npm:text"], "start-middle-end");
  expect("cas", await call((cb) => client.cas("npm:text", "swapped", g.cas, 60, cb)), true);
  expect("stale cas", await call((cb) => client.cas("npm:text", "again", g.cas, 60, cb)), false);
  expect("after cas", await call((cb) => client.get("npm:text", cb)), "swapped");
  expect("touch", await call((cb) => client.touch("npm:text", 120, cb)), true);
  expect("delete", await call((cb) => client.del("npm:text", cb)), true);
  expect("deleted", await call((cb) => client.get("npm:text", cb)), undefined);
  client.end();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
