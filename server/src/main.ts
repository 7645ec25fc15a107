import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { MediaPortUnavailable } from './sfu/WorkerPool.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`OnAir cannot start: invalid configuration, ${error.message}`);
    process.exit(2);
  }
  throw error;
}

let built: Awaited<ReturnType<typeof buildApp>>;
try {
  built = await buildApp(config);
} catch (error) {
  if (error instanceof MediaPortUnavailable) {
    console.error(`OnAir cannot start: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
const { app, createdAdmin } = built;

// Last line of the safety net. Peers and rooms catch their own failures (a failing peer is closed,
// see Session and Room); anything that still escapes is a bug, and it is logged rather than
// taking every meeting and live broadcast on the box down with it.
process.on('unhandledRejection', (reason) => app.log.error({ err: reason }, 'unhandled rejection (a bug): the server goes on'));
process.on('uncaughtException', (err) => app.log.error({ err }, 'uncaught exception (a bug): the server goes on'));

try {
  await app.listen({ host: config.host, port: config.port });
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'EADDRINUSE' ? `port ${config.port} is already in use (set PORT)` : String(error);
  console.error(`OnAir cannot start: ${why}`);
  await app.close();
  process.exit(1);
}

const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : config.port;
const url = config.publicUrl.replace(/:\d+$/, `:${port}`);
console.log(`\nOnAir is running at ${url}`);
const mediaPorts = app.pool.mediaPorts.filter((p) => p !== null);
if (mediaPorts.length > 0) {
  const list = (protocol: 'udp' | 'tcp') => mediaPorts.map((p) => p[protocol]).join(', ');
  console.log(`WebRTC media on UDP ${list('udp')} and TCP ${list('tcp')} (${config.mediasoup.listenIp})`);
}
if (createdAdmin) {
  console.log(`First start: created the admin account ${createdAdmin.email}`);
  console.log(
    createdAdmin.password
      ? `  password: ${createdAdmin.password}   (shown once; sign in at ${url}/signin and keep it safe)`
      : '  password: the one in ADMIN_PASSWORD',
  );
}

if (app.metricsPort !== null) console.log(`Prometheus metrics at http://${config.host}:${app.metricsPort}/metrics`);

/** Shutdown stops live broadcasts cleanly (destinations get their end of stream) within this. */
const SHUTDOWN_DEADLINE_MS = 20_000;
let shutdownStartedAt: number | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (shutdownStartedAt !== null) {
      // The same signal can arrive twice at once (sent to the process group and by a supervisor);
      // one sent a second or more later means "now".
      if (Date.now() - shutdownStartedAt < 1000) return;
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    shutdownStartedAt = Date.now();
    const live = app.broadcasts.running().length;
    app.log.info({ signal, liveBroadcasts: live }, live > 0 ? 'shutting down: stopping live broadcasts first' : 'shutting down');
    setTimeout(() => {
      app.log.error(`shutdown took over ${SHUTDOWN_DEADLINE_MS / 1000} s; exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    app
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  });
}
