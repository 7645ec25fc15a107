// `npm run bench -- <name>` runs bench/<name>.ts; with no name, every benchmark in turn.
import { readdirSync } from 'node:fs';

const here = new URL('.', import.meta.url).pathname;
const all = readdirSync(here).filter((f) => f.endsWith('.ts') && !['run.ts', 'proc.ts'].includes(f)).map((f) => f.slice(0, -3));
const wanted = process.argv.slice(2);
for (const name of wanted.length > 0 ? wanted : all) {
  if (!all.includes(name)) {
    console.error(`no benchmark "${name}"; have: ${all.join(', ')}`);
    process.exit(2);
  }
  console.log(`\n=== bench: ${name} ===`);
  await import(`./${name}.ts`);
}
