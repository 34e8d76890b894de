// memjs, which speaks the binary protocol: set/get, add, replace, increment
// with an initial value, decrement, append (memjs 1.3 sends prepend as an
// append, so it is not used), touch, delete, flush,
// checking every answer. Talks to MEMCACHED_SERVERS. With --split every
// request leaves as its 24-byte header and then its body.
require("./split-writes.cjs");
const memjs = require("memjs");

const client = memjs.Client.create(process.env.MEMCACHED_SERVERS, { retries: 0, timeout: 2, logger: { log() {} } });
const expect = (what, got, want) => {
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
};

(async () => {
  expect("flush", Object.values(await client.flush()), [true]);
  expect("set", await client.set("memjs:a", "alpha", { expires: 60 }), true);
  expect("get", (await client.get("memjs:a")).value.toString(), "alpha");
  expect("add existing", await client.add("memjs:a", "x", {}).catch(() => false), false);
  expect("replace", await client.replace("memjs:a", "beta", {}), true);
  expect("incr new", (await client.increment("memjs:n", 1, { initial: 10 })).value, 10);
  expect("incr", (await client.increment("memjs:n", 5, {})).value, 15);
  expect("decr", (await client.decrement("memjs:n", 20, {})).value, 0);
  expect("append", await client.append("memjs:a", "-end"), true);
  expect("after append", (await client.get("memjs:a")).value.toString(), "beta-end");
  expect("touch", await client.touch("memjs:a", 120), true);
  expect("delete", await client.delete("memjs:a"), true);
  expect("deleted", (await client.get("memjs:a")).value, null);
  client.close();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
