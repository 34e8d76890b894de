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
  if (arg === undefined) {
    throw new McdiagError(
      "BAD_OPTION",
      `${command}: no endpoint: give host:port (e.g. 127.0.0.1:11211 or [::1]:11211), or --embedded to use the built-in server`,
    );
  }
  return { endpoint: parseEndpoint(arg), release: async () => {}, embedded: false };
}
