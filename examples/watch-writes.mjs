// @ts-check
// The in-process check: watch how Node sockets hand each command to the kernel.
//   node examples/watch-writes.mjs
// In a vitest/jest suite, the same call sits in a test:
//   const { writesPerCommand } = await watchWrites(() => myClient.get("user:42"));
//   expect(writesPerCommand).toBe(1);
import net from "node:net";
import { EmbeddedServer, watchWrites } from "mcdiag";

const server = new EmbeddedServer();
const { host, port } = await server.listen();
const sock = net.connect({ host, port });
await new Promise((r) => sock.once("connect", r));
const answer = () => new Promise((r) => sock.once("data", r));

// A client that writes each command whole…
const whole = await watchWrites(async () => {
  const got = answer();
  sock.write("get user:42\r\n");
  await got;
});
// …and one that writes it token by token, as in the 40 ms story.
const split = await watchWrites(async () => {
  const got = answer();
  sock.write("get ");
  sock.write("user:42");
  sock.write("\r\n");
  await got;
});

console.log(`whole: ${whole.writesPerCommand} write per command`);
console.log(
  `split: ${split.writesPerCommand} writes per command (${split.splitCommands[0].writeSizes.join(" + ")} bytes)`,
);
sock.end();
await server.close();
process.exitCode = whole.writesPerCommand === 1 && split.writesPerCommand === 3 ? 0 : 1;
