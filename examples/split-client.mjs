#!/usr/bin/env node
// A memcached client with the story's bug: each `get` is written token by
// token ("get ", the key, "\r\n"). With Nagle on (the default) every request
// after the first waits ~40 ms for the server's delayed ACK; `--nodelay`
// hides the wait but not the pattern. `--whole` writes each command at once.
// Talks to MEMCACHED_HOST:MEMCACHED_PORT (as `mcdiag check` sets them).
//
//   mcdiag check -- node examples/split-client.mjs            # fails: split writes and stalls
//   mcdiag check --capture -- node examples/split-client.mjs --nodelay
import net from "node:net";

const args = new Set(process.argv.slice(2));
const host = process.env.MEMCACHED_HOST ?? "127.0.0.1";
const port = Number(process.env.MEMCACHED_PORT ?? 11211);
const requests = 8;

const sock = net.connect({ host, port });
sock.setNoDelay(args.has("--nodelay"));
await new Promise((resolve, reject) => sock.once("connect", resolve).once("error", reject));
let received = "";
sock.on("data", (d) => (received += d.toString("latin1")));
const reply = () =>
  new Promise((resolve) => {
    const poll = () => (received.endsWith("END\r\n") ? ((received = ""), resolve()) : setImmediate(poll));
    poll();
  });

const started = Date.now();
for (let i = 0; i < requests; i++) {
  const key = `user:${i}`;
  if (args.has("--whole")) sock.write(`get ${key}\r\n`);
  else {
    sock.write("get ");
    sock.write(key);
    sock.write("\r\n");
  }
  await reply();
}
sock.end();
console.log(`${requests} gets in ${Date.now() - started} ms`);
