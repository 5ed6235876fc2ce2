import { tunnelSuite, type TunnelVariant } from '../helpers/tunnel-suite.js';

/**
 * A tunnel over a plain TCP link to the server, with and without TLS and
 * yamux, then the payload transforms. Websocket links are in
 * websocket-tunnel.test.ts.
 */
const plain = { enc: false, comp: false };
tunnelSuite([
  ...[false, true].flatMap((tls) => [true, false].map((tcpMux): TunnelVariant => ({ protocol: 'tcp', tls, tcpMux, ...plain }))),
  { protocol: 'tcp', tcpMux: true, tls: true, enc: true, comp: false },
  { protocol: 'tcp', tcpMux: true, tls: true, enc: false, comp: true },
  { protocol: 'tcp', tcpMux: false, tls: true, enc: true, comp: true },
]);
