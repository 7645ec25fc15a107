// Scratch: the guest counter's forward leads (> LEAD frames) and steps back in a kept compositor e2e recording (KEEP_OUTPUT).
// node --import tsx bench/scratch/leads.ts /path.flv
import { readFileSync } from 'node:fs';
import { resolveFfmpegPath } from '../../server/src/media/ffmpegPath.js';
import { counterStep, readRecording } from '../../e2e/fixtures/frameCounter.js';
const file = process.argv[2]!;
const rec = await readRecording(resolveFfmpegPath(), file, 'null');
const packets = JSON.parse(readFileSync(`${file}.packets.json`, 'utf8')) as Array<{ at: number }>;
const firstAt = packets[0]?.at ?? 0;
let since = rec.readings[0]?.frame ?? 0;
const min = Number(process.env.LEAD ?? 3);
for (let i = 1; i < rec.readings.length; i += 1) {
  const prev = rec.readings[i - 1]!;
  const cur = rec.readings[i]!;
  const step = counterStep(prev.counter, cur.counter, cur.frame - since);
  if (step === 0) continue;
  const lead = step - (cur.frame - since);
  if (lead > min || step < 0) console.log(`frame ${cur.frame} (perf ${(firstAt / 1000 + cur.frame / 30).toFixed(2)} s) step ${step} lead ${lead} ${prev.spot.scenes[0]} -> ${cur.spot.scenes[0]}`);
  since = cur.frame;
}
