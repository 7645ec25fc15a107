import { existsSync, readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

/** Where distributions keep the system CA bundle; the first that exists is used. */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

function readIfPresent(path: string | undefined): string | null {
  if (!path || !existsSync(path)) return null;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The certificates an rtmps:// server may chain up to: Node's bundled Mozilla roots, the system
 * bundle (what an admin adds with update-ca-certificates), and NODE_EXTRA_CA_CERTS. Node applies
 * NODE_EXTRA_CA_CERTS only to its default store, which an explicit `ca` replaces, so that file is
 * read here too.
 */
export function trustedCertificates(env: NodeJS.ProcessEnv = process.env, bundles: string[] = SYSTEM_BUNDLES): string[] {
  const out = [...rootCertificates];
  const system = bundles.map((b) => readIfPresent(b)).find((text) => text !== null);
  if (system) out.push(system);
  const extra = readIfPresent(env.NODE_EXTRA_CA_CERTS);
  if (extra) out.push(extra);
  return out;
}

const contexts = new Map<string, SecureContext>();

/**
 * A TLS context trusting trustedCertificates() plus `extraCa` (PEM), built once per set: parsing
 * a few hundred roots on every connection would cost more than the handshake.
 */
export function trustContext(extraCa: string[] = []): SecureContext {
  const key = extraCa.join('\n');
  let context = contexts.get(key);
  if (!context) {
    context = createSecureContext({ ca: [...trustedCertificates(), ...extraCa] });
    contexts.set(key, context);
  }
  return context;
}
