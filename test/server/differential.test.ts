import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedServer } from "../../src/server/server.js";
import { startMemcached, type Daemon } from "../helpers/daemons.js";
import { normalise, runSession, sameTtlWithinASecond, type Session } from "../helpers/mc-session.js";
import { requireTool } from "../helpers/tools.js";
import { BINARY_SESSIONS, TEXT_SESSIONS } from "./sessions.js";

/**
 * The same scripted sessions go to a real memcached and to the embedded
 * server; every step's reply must be the same after normalising what
 * legitimately differs (cas values, version, stats values, a remaining TTL
 * read across a second's tick).
 */
const haveMemcached = requireTool("memcached", "the differential test compares against memcached");

describe.runIf(haveMemcached)("embedded server answers like memcached 1.6", () => {
  let mc: Daemon;
  let server: EmbeddedServer;
  let port = 0;
  beforeAll(async () => {
    mc = await startMemcached();
    server = new EmbeddedServer();
    port = (await server.listen()).port;
  });
  afterAll(async () => {
    await server?.close();
    await mc?.stop();
  });

  const check = async (s: Session) => {
    let theirs: string[];
    let ours: string[];
    if (s.fresh) {
      const freshMc = await startMemcached();
      const freshServer = new EmbeddedServer();
      try {
        const freshPort = (await freshServer.listen()).port;
        [theirs, ours] = await Promise.all([runSession(freshMc.port, s), runSession(freshPort, s)]);
      } finally {
        await freshServer.close();
        await freshMc.stop();
      }
    } else {
      const reset: Session = { name: "reset", binary: false, steps: ["flush_all\r\n"] };
      await runSession(mc.port, reset);
      await runSession(port, reset);
      [theirs, ours] = await Promise.all([runSession(mc.port, s), runSession(port, s)]);
    }
    const binary = s.binary === true;
    const steps = s.steps.map((st) => {
      const b = typeof st === "string" || Buffer.isBuffer(st) ? st : st.send;
      const text = Buffer.isBuffer(b) ? b.toString("hex").slice(0, 80) : b.slice(0, 80);
      return text;
    });
    const show = (replies: string[]) => replies.map((r, i) => `${steps[i]} => ${r}`);
    const theirsNormal = theirs.map((r) => normalise(r, binary));
    const oursNormal = ours.map((r, i) => sameTtlWithinASecond(normalise(r, binary), theirsNormal[i]!));
    expect(show(oursNormal)).toEqual(show(theirsNormal));
  };

  for (const s of TEXT_SESSIONS) it(`text: ${s.name}`, () => check(s));
  for (const s of BINARY_SESSIONS) it(`binary: ${s.name}`, () => check(s));
});
