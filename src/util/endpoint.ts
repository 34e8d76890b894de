import { McdiagError } from "./errors.js";

export interface Endpoint {
  host: string;
  port: number;
}

/**
 * Parses `host:port`, `[v6]:port`, or a bare host (port 11211).
 * A bare IPv6 address without brackets is accepted when it has no port.
 */
export function parseEndpoint(text: string, defaultPort = 11211): Endpoint {
  const raw = text.trim();
  if (raw === "") throw bad(text, "empty endpoint");
  let host: string;
  let portText: string | undefined;
  if (raw.startsWith("[")) {
    const close = raw.indexOf("]");
    if (close < 0) throw bad(text, "missing ']' after the IPv6 address");
    host = raw.slice(1, close);
    const rest = raw.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) throw bad(text, "expected ':port' after ']'");
      portText = rest.slice(1);
    }
  } else {
    const colons = raw.split(":").length - 1;
    if (colons === 1) {
      const i = raw.indexOf(":");
      host = raw.slice(0, i);
      portText = raw.slice(i + 1);
    } else {
      host = raw; // a name, an IPv4 address, or a bare IPv6 address
    }
  }
  if (host === "") throw bad(text, "missing host");
  const port = portText === undefined ? defaultPort : parsePort(portText, text);
  return { host, port };
}

/** The highest TCP port. */
export const MAX_PORT = 65535;

function parsePort(portText: string, whole: string): number {
  if (!/^\d{1,5}$/.test(portText)) throw bad(whole, `port '${portText}' is not a number`);
  const port = Number(portText);
  if (port < 1 || port > MAX_PORT) throw bad(whole, `port ${port} is out of range 1-${MAX_PORT}`);
  return port;
}

function bad(text: string, why: string): McdiagError {
  return new McdiagError("BAD_ENDPOINT", `bad endpoint '${text}': ${why}`, { endpoint: text });
}

export function formatEndpoint(ep: Endpoint): string {
  return ep.host.includes(":") ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`;
}
