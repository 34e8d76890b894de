import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const FIXTURES = fileURLToPath(new URL("../../fixtures/", import.meta.url));

export interface ExpectedCounts {
  format: string;
  linkTypes: number[];
  timestampResolution: string;
  packets: number;
  requests: number;
  byCommand: Record<string, number>;
  multiSegmentRequests: number;
  multiSegmentResponses: number;
  requestStalls: number;
  responseStalls: number;
  memcachedFlows: number;
  otherFlows: number;
  warnings: number;
}

export const EXPECTED = JSON.parse(readFileSync(`${FIXTURES}expected.json`, "utf8")) as {
  ports: {
    memcached: number;
    memcachedIpv6: number;
    splitReplyServer: number;
    http: number;
    counter: number;
    udp: number;
    npmClients: number;
  };
  files: Record<string, ExpectedCounts>;
};

export const SERVER_PORTS = [
  EXPECTED.ports.memcached,
  EXPECTED.ports.memcachedIpv6,
  EXPECTED.ports.splitReplyServer,
  EXPECTED.ports.counter,
  EXPECTED.ports.udp,
  EXPECTED.ports.npmClients,
];

export const capture = (name: string) => `${FIXTURES}captures/${name}`;
export const badFile = (name: string) => `${FIXTURES}bad/${name}`;
