import { tunnelSuite, type TunnelVariant } from '../helpers/tunnel-suite.js';

/**
 * A tunnel over a websocket link: without TLS, with TLS inside (frpc's
 * default) and wss, with and without yamux, then payload transforms over it.
 */
const LINKS: Pick<TunnelVariant, 'protocol' | 'tls'>[] = [
  { protocol: 'websocket', tls: false },
  { protocol: 'websocket', tls: true },
  { protocol: 'wss', tls: true },
];
tunnelSuite([
  ...LINKS.flatMap((link) => [true, false].map((tcpMux): TunnelVariant => ({ ...link, tcpMux, enc: false, comp: false }))),
  { protocol: 'websocket', tcpMux: true, tls: false, enc: true, comp: true },
]);
