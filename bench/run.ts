// `npm run bench -- <name>` runs bench/<name>.ts; with no name, every benchmark in turn. A group
// name runs its members that exist (`ingest`: bench/ingest.ts, then the event page's latency).
import { readdirSync } from 'node:fs';

const GROUPS: Record<string, string[]> = { ingest: ['ingest', 'eventpage'] };

const here = new URL('.', import.meta.url).pathname;
const all = readdirSync(here).filter((f) => f.endsWith('.ts') && !['run.ts', 'proc.ts'].includes(f)).map((f) => f.slice(0, -3));
const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted.flatMap((w) => (GROUPS[w] ? GROUPS[w].filter((n) => all.includes(n)) : [w])) : all;
for (const name of [...new Set(names)]) {
  if (!all.includes(name)) {
    console.error(`no benchmark "${name}"; have: ${[...all, ...Object.keys(GROUPS)].join(', ')}`);
    process.exit(2);
  }
  console.log(`\n=== bench: ${name} ===`);
  await import(`./${name}.ts`);
}
