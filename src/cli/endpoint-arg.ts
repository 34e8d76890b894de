import { isIP } from "node:net";
import { EmbeddedServer } from "../server/server.js";
import { parseEndpoint, type Endpoint } from "../util/endpoint.js";
import { McdiagError } from "../util/errors.js";

/**
 * Resolves the endpoint argument, or starts an embedded server when asked.
 * Returns the endpoint and a function that releases what was started.
 */
export async function resolveEndpoint(
  arg: string | undefined,
  embedded: boolean,
  command: string,
): Promise<{ endpoint: Endpoint; release: () => Promise<void>; embedded: boolean }> {
  if (embedded) {
    if (arg !== undefined) throw new McdiagError("BAD_OPTION", `${command}: give an endpoint or --embedded, not both`);
    const server = new EmbeddedServer();
    const endpoint = await server.listen();
    return { endpoint, release: () => server.close(), embedded: true };
  }
  return { endpoint: endpointArg(arg, command), release: async () => {}, embedded: false };
}

/** The endpoint argument, parsed and checked (no connection is made). */
export function endpointArg(arg: string | undefined, command: string): Endpoint {
  if (arg === undefined) {
    throw new McdiagError(
      "BAD_OPTION",
      `${command}: no endpoint: give host:port (e.g. 127.0.0.1:11211 or [::1]:11211), or --embedded to use the built-in server`,
    );
  }
  return parseEndpoint(unbracketedV6Check(arg));
}

/**
 * `::1:11211` is neither an IPv6 address nor host:port: it is almost always
 * an address and a port without the brackets that tell them apart.
 */
function unbracketedV6Check(arg: string): string {
  const text = arg.trim();
  if (text.startsWith("[") || (text.match(/:/g)?.length ?? 0) < 2 || isIP(text) !== 0) return arg;
  const i = text.lastIndexOf(":");
  throw new McdiagError(
    "BAD_ENDPOINT",
    `bad endpoint '${arg}': put an IPv6 address in brackets, e.g. [${text.slice(0, i)}]:${text.slice(i + 1)}`,
    { endpoint: arg },
  );
}
