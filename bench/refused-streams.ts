/**
 * What refused logical connections cost the server (issue 16, item 3): a
 * logged-in session opens N yamux streams, each `NewWorkConn` for an unknown
 * run id followed by a payload; then N unauthenticated sessions do the same
 * once each. Prints the server's RSS before, at peak and after, as JSON.
 * The server runs as its own process (the built CLI), on 127.0.0.1 only.
 *
 *   npm run build && node --import tsx bench/refused-streams.ts
 *   STREAMS=200 PAYLOAD_KIB=256 node --import tsx bench/refused-streams.ts
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { writeMessage } from '../src/control/message-io.js';
import { processStats, spawnServer } from '../test/helpers/hostile.js';
import { rawLogin } from '../test/helpers/raw-client.js';
import { dialLogical } from '../test/helpers/recorded-peer.js';
import { TOKEN } from '../test/helpers/tunnel.js';

const STREAMS = Number(process.env.STREAMS ?? 200);
const PAYLOAD = Buffer.alloc(Number(process.env.PAYLOAD_KIB ?? 256) * 1024, 7);
const MiB = 1024 * 1024;

async function sendRefused(open: () => Promise<import('node:stream').Duplex>): Promise<void> {
  const stream = await open();
  await writeMessage(stream, { type: 'NewWorkConn', body: { run_id: 'nope' } });
  stream.write(PAYLOAD);
}

/** Samples RSS every 50 ms while `work` runs and for `settleMs` after; returns the peak. */
async function peakDuring(pid: number, work: () => Promise<void>, settleMs: number): Promise<number> {
  let peak = processStats(pid).rssBytes;
  const timer = setInterval(() => (peak = Math.max(peak, processStats(pid).rssBytes)), 50);
  try {
    await work();
    await sleep(settleMs);
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, processStats(pid).rssBytes);
}

const server = await spawnServer(`bindAddr = "127.0.0.1"\nbindPort = 0\nauth.token = "${TOKEN}"\n`);
try {
  await sleep(500);
  const before = processStats(server.pid).rssBytes;
  const client = await rawLogin(server.bindPort);
  const loggedIn = await peakDuring(
    server.pid,
    async () => {
      await Promise.all(Array.from({ length: STREAMS }, () => sendRefused(() => client.dialer.open())));
    },
    2000,
  );
  const afterLoggedIn = processStats(server.pid).rssBytes;
  client.close();

  const dialers: Array<{ close(): void }> = [];
  const unauth = await peakDuring(
    server.pid,
    async () => {
      await Promise.all(
        Array.from({ length: STREAMS }, async () => {
          const d = await dialLogical(server.bindPort, true).catch(() => undefined);
          if (!d) return;
          dialers.push(d);
          await sendRefused(() => d.open()).catch(() => {});
        }),
      );
    },
    2000,
  );
  for (const d of dialers) d.close();
  await sleep(1000);
  const after = processStats(server.pid).rssBytes;
  console.log(
    JSON.stringify(
      {
        streams: STREAMS,
        payloadKiB: PAYLOAD.length / 1024,
        offeredMiB: (STREAMS * PAYLOAD.length) / MiB,
        rssMiB: {
          before: +(before / MiB).toFixed(1),
          peakLoggedInSession: +(loggedIn / MiB).toFixed(1),
          afterLoggedInSession: +(afterLoggedIn / MiB).toFixed(1),
          peakUnauthenticatedSessions: +(unauth / MiB).toFixed(1),
          afterAll: +(after / MiB).toFixed(1),
        },
        growthMiB: +((Math.max(loggedIn, unauth) - before) / MiB).toFixed(1),
      },
      null,
      2,
    ),
  );
} finally {
  await server.stop();
}
