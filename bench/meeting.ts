// Meeting benchmark: join time (Join click → first remote video frame decoded in Chromium) and the
// SFU's CPU and memory with 2, 4, 8 and 12 participants in one room.
//
// One participant is a real Chromium page joining through the UI. The others are fake
// participants, so that 12 of them fit on a 2-core machine beside the server: each sends a looped
// VP8 (480x270, 600 kb/s) + Opus clip into the room (ffmpeg, stream copy) and receives everyone
// else's media over a PlainTransport into a UDP sink, so the SFU forwards the same N×(N−1)
// streams a real meeting would (without SRTP, which WebRTC transports add). The server runs in
// this process (buildApp, as `npm start` does); CPU is that of the mediasoup worker and of this
// Node process. Ratios are against the 2-participant run of the same process.
import * as dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types } from 'mediasoup';
import type { Page } from 'playwright-core';
import { buildApp } from '../server/src/app.js';
import { loadConfig } from '../server/src/config.js';
import { Peer } from '../server/src/sfu/Peer.js';
import type { Room } from '../server/src/sfu/Room.js';
import { inboundStats, launchBrowser, newParticipant } from '../e2e/fixtures/browser.js';
import { startRtpParticipant, type RtpParticipant } from '../e2e/fixtures/rtpParticipant.js';
import { commandOf, cores, processTree, sampleTree } from './proc.js';

const SIZES = (process.env.BENCH_SIZES ?? '2,4,8,12').split(',').map(Number);
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 10_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fake participant: sends a clip, receives everyone else into a UDP sink. */
interface Fake {
  sender: RtpParticipant;
  recv: types.PlainTransport;
  consumed: Set<string>;
}

async function consumeAll(room: Room, fakes: Fake[]): Promise<void> {
  for (const fake of fakes) {
    for (const peer of room.peers.values()) {
      if (peer.id === fake.sender.peerId) continue;
      for (const { producer } of peer.producers.values()) {
        if (fake.consumed.has(producer.id) || producer.closed) continue;
        fake.consumed.add(producer.id);
        const consumer = await fake.recv.consume({ producerId: producer.id, rtpCapabilities: room.router.rtpCapabilities });
        if (consumer.type === 'simulcast') await consumer.setPreferredLayers({ spatialLayer: 2 });
      }
    }
  }
}

async function firstRemoteFrame(page: Page, startedAt: number, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stats = await inboundStats(page);
    if (stats.some((s) => s.kind === 'video' && s.framesDecoded > 0)) return performance.now() - startedAt;
    await page.waitForTimeout(20);
  }
  return Number.NaN;
}

const dataDir = mkdtempSync(join(tmpdir(), 'onair-bench-meeting-'));
const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'error', MEDIASOUP_WORKERS: '1', ADMIN_EMAIL: 'bench@onair.local', ADMIN_PASSWORD: 'bench-password', INGEST_RTMP_PORT: '0' });
const { app } = await buildApp(config, { schedulerIntervalMs: 0 });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
const sink = dgram.createSocket('udp4');
let sinkBytes = 0;
sink.on('message', (m) => (sinkBytes += m.length));
await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', () => resolve()));
const sinkPort = sink.address().port;
const browser = await launchBrowser();
const owner = app.users.list()[0]!;
const rows: Array<{ n: number; joinMs: number; worker: number; node: number; workerMiB: number; nodeMiB: number; forwardedMbps: number }> = [];

const isWorker = (pid: number) => commandOf(pid).endsWith('mediasoup-worker');
try {
  for (const n of SIZES) {
    const record = app.rooms.create(`bench-${n}`, owner.id);
    const room = await app.registry.open(record.id, record.name);
    const fakes: Fake[] = [];
    for (let i = 0; i < n - 1; i++) {
      const sender = await startRtpParticipant({ router: room.router, peerId: `fake-${n}-${i}`, size: '480x270', frequency: 300 + 50 * i });
      const peer = new Peer({ id: sender.peerId, userKey: sender.peerId, displayName: `Fake ${i + 1}`, role: 'guest', notify: () => undefined });
      peer.rtpCapabilities = room.router.rtpCapabilities;
      for (const p of sender.producers) peer.producers.set(p.producer.id, p);
      room.addPeer(peer);
      const recv = await room.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
      await recv.connect({ ip: '127.0.0.1', port: sinkPort });
      fakes.push({ sender, recv, consumed: new Set() });
    }
    await consumeAll(room, fakes);
    const onMedia = () => void consumeAll(room, fakes);
    room.on('stagechanged', onMedia);
    await sleep(1000);

    // The real participant joins through the UI.
    const { page, context } = await newParticipant(browser, url);
    await page.goto(app.invites.url(record.id).replace(config.publicUrl, url));
    await page.getByTestId('join-name').fill('Bench browser');
    await page.getByTestId('preview-video').waitFor();
    const t0 = performance.now();
    await page.getByTestId('join-submit').click();
    const joinMs = n > 1 ? await firstRemoteFrame(page, t0) : Number.NaN;
    await page.locator('[data-testid="meeting-state"][data-state="joined"]').waitFor();
    await sleep(3000); // let the browser's simulcast and bandwidth estimation settle

    const workers = () => processTree(process.pid).filter(isWorker);
    const a = sampleTree(process.pid, isWorker);
    const an = sampleTree(process.pid, (pid) => pid === process.pid);
    const bytes0 = sinkBytes;
    await sleep(MEASURE_MS);
    const b = sampleTree(process.pid, isWorker);
    const bn = sampleTree(process.pid, (pid) => pid === process.pid);
    const row = {
      n,
      joinMs,
      worker: cores(a, b),
      node: cores(an, bn),
      workerMiB: b.rssBytes / 2 ** 20,
      nodeMiB: bn.rssBytes / 2 ** 20,
      forwardedMbps: ((sinkBytes - bytes0) * 8) / (MEASURE_MS / 1000) / 1e6,
    };
    rows.push(row);
    console.log(`measured ${n} participants (${workers().length} worker): join ${joinMs.toFixed(0)} ms, worker ${row.worker.toFixed(3)} cores, node ${row.node.toFixed(3)} cores`);

    room.off('stagechanged', onMedia);
    await context.close();
    for (const f of fakes) {
      f.recv.close();
      await f.sender.close();
    }
    await room.close();
    await sleep(1000);
  }
} finally {
  await browser.close();
  sink.close();
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
}

const base = rows[0]!;
console.log('\nparticipants | join → first remote frame | SFU worker CPU | Node CPU | worker RSS | Node RSS | forwarded to fakes | worker CPU ×base');
for (const r of rows) {
  console.log(
    `${String(r.n).padStart(12)} | ${(Number.isNaN(r.joinMs) ? '—' : `${r.joinMs.toFixed(0)} ms`).padStart(25)} | ${r.worker.toFixed(3).padStart(8)} cores | ${r.node.toFixed(3).padStart(5)} cores | ${r.workerMiB.toFixed(0).padStart(6)} MiB | ${r.nodeMiB.toFixed(0).padStart(5)} MiB | ${r.forwardedMbps.toFixed(1).padStart(11)} Mb/s | ${(r.worker / base.worker).toFixed(2)}`,
  );
}
