#!/usr/bin/env node
// The side-by-side tunnel benchmark tool of the shared kit, copied as it is except
// that rtt also prints p99.9 (bench/frp-compare.ts runs it).
//   echo PORT                      run an echo server on 127.0.0.1:PORT
//   rtt HOST PORT [n]              64-byte ping-pong on one connection -> p50/p99/p99.9 µs
//   cps HOST PORT [seconds] [conc] new connection + 1-byte echo + close, per second
//   idle HOST PORT n               open n connections, echo once on each, hold until SIGTERM; prints "ready"
import net from 'node:net';
const [mode, ...a] = process.argv.slice(2);
const out = (o) => console.log(JSON.stringify(o));
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))];

if (mode === 'echo') {
  net
    .createServer((s) => {
      s.on('error', () => {});
      s.pipe(s);
    })
    .listen(+a[0], '127.0.0.1', () => out({ echo: +a[0] }));
} else if (mode === 'rtt') {
  const [host, port, n = 20000] = [a[0], +a[1], +(a[2] ?? 20000)];
  const s = net.connect(port, host);
  s.setNoDelay(true);
  const msg = Buffer.alloc(64, 7);
  const times = [];
  let got = 0,
    t0;
  s.on('connect', () => {
    t0 = process.hrtime.bigint();
    s.write(msg);
  });
  s.on('data', (d) => {
    got += d.length;
    if (got < 64) return;
    got -= 64;
    const t = process.hrtime.bigint();
    times.push(Number(t - t0) / 1000);
    if (times.length >= n) {
      s.destroy();
      const w = times.slice(Math.floor(n / 10)).sort((x, y) => x - y);
      out({ rtt_p50_us: +pct(w, 0.5).toFixed(1), rtt_p99_us: +pct(w, 0.99).toFixed(1), rtt_p999_us: +pct(w, 0.999).toFixed(1), n: w.length });
      return;
    }
    t0 = process.hrtime.bigint();
    s.write(msg);
  });
  s.on('error', (e) => {
    out({ error: e.message });
    process.exit(1);
  });
} else if (mode === 'cps') {
  const [host, port, secs, conc] = [a[0], +a[1], +(a[2] ?? 5), +(a[3] ?? 16)];
  const end = Date.now() + secs * 1000;
  let ok = 0,
    fail = 0,
    live = conc;
  const one = () => {
    if (Date.now() >= end) {
      if (--live === 0) out({ conn_per_s: +(ok / secs).toFixed(1), ok, fail });
      return;
    }
    const s = net.connect(port, host);
    let done = false;
    const fin = (good) => {
      if (done) return;
      done = true;
      good ? ok++ : fail++;
      s.destroy();
      setImmediate(one);
    };
    s.setTimeout(5000, () => fin(false));
    s.on('connect', () => s.write('x'));
    s.on('data', () => fin(true));
    s.on('error', () => fin(false));
    s.on('close', () => fin(false));
  };
  for (let i = 0; i < conc; i++) one();
} else if (mode === 'idle') {
  const [host, port, n] = [a[0], +a[1], +a[2]];
  let ready = 0,
    fail = 0;
  const socks = [];
  const open = () =>
    new Promise((res) => {
      const s = net.connect(port, host);
      socks.push(s);
      s.once('data', () => {
        ready++;
        res();
      });
      s.on('error', () => {
        fail++;
        res();
      });
      s.on('connect', () => s.write('x'));
    });
  (async () => {
    for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => open()));
    out({ ready, fail });
  })();
  process.on('SIGTERM', () => {
    for (const s of socks) s.destroy();
    process.exit(0);
  });
} else {
  console.error('usage: tunbench echo|rtt|cps|idle ...');
  process.exit(2);
}
