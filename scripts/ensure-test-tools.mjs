// Runs before `npm test`: the tests drive real parts, so make sure Debian's Chromium, nginx with
// its RTMP and stream modules, ffmpeg/ffprobe, coturn (the TURN server of the relay-only
// meeting test, which starts its own from a temporary config) and GStreamer's RTSP server (the
// IP camera of the camera tests: python3-gi drives gir1.2-gst-rtsp-server-1.0; x264enc is in
// plugins-ugly, rtph264pay and alawenc in plugins-good, glib-networking gives it TLS for rtsps://)
// are installed (installing what is missing).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const packages = ['chromium', 'nginx', 'libnginx-mod-rtmp', 'libnginx-mod-stream', 'ffmpeg', 'openssl', 'fonts-dejavu-core', 'coturn',
  'python3-gi', 'gir1.2-gst-rtsp-server-1.0', 'gstreamer1.0-plugins-base', 'gstreamer1.0-plugins-good', 'gstreamer1.0-plugins-ugly', 'glib-networking'];

const installed = (pkg) =>
  spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.includes('install ok installed') ?? false;
const hadCoturn = installed('coturn');

try {
  execFileSync('sh', [join(root, 'scripts/ensure-debian-packages.sh'), ...packages], { stdio: 'inherit' });
} catch {
  console.error('[onair] the tests need Chromium, nginx with the RTMP module, ffmpeg, coturn and GStreamer\'s RTSP server; see above.');
  process.exit(1);
}

// On a systemd machine, installing Debian's coturn also enables and starts its service with the
// package's all-commented /etc/turnserver.conf, which coturn runs without authentication (an open
// relay on every interface). The tests never use that service: when we installed coturn just now,
// stop and disable it again.
if (!hadCoturn && installed('coturn') && existsSync('/run/systemd/system')) {
  const stop = spawnSync('systemctl', ['disable', '--now', 'coturn.service'], { stdio: 'inherit' });
  if (stop.status === 0) console.log('[onair] installed coturn for the tests; its system service is stopped and disabled');
  else console.error('[onair] installed coturn; could not stop its system service, run: systemctl disable --now coturn');
}
