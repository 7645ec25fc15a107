// Runs before `npm test`: the tests drive real parts, so make sure Debian's Chromium, nginx with
// its RTMP and stream modules, and ffmpeg/ffprobe are installed (installing what is missing).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const packages = ['chromium', 'nginx', 'libnginx-mod-rtmp', 'libnginx-mod-stream', 'ffmpeg', 'openssl', 'fonts-dejavu-core'];
try {
  execFileSync('sh', [join(root, 'scripts/ensure-debian-packages.sh'), ...packages], { stdio: 'inherit' });
} catch {
  console.error('[onair] the tests need Chromium, nginx with the RTMP module, and ffmpeg; see above.');
  process.exit(1);
}
