/**
 * Loads the Deno server (serve.ts: `node:http`, and `ws` under it) without `ws` reading the
 * environment. As it loads, `ws` reads `WS_NO_BUFFER_UTIL` and `WS_NO_UTF_8_VALIDATE` from
 * `process.env`, switches for native add-ons this package does not install, and Deno would ask
 * for (or refuse) access to each: a broker run without `--allow-env` must ask only for what it
 * uses (the environment is optional, read only where granted). So `process.env` is an empty
 * object while the modules load, and restored at once. Where it cannot be replaced, the modules
 * load as they are (and Deno asks, as before).
 */
import process from 'node:process';

type DenoServer = typeof import('./serve.ts');

export async function loadServer(): Promise<DenoServer> {
  const env = Object.getOwnPropertyDescriptor(process, 'env');
  if (!env?.configurable) return import('./serve.ts');
  Object.defineProperty(process, 'env', { value: {}, configurable: true, writable: true });
  try {
    return await import('./serve.ts');
  } finally {
    Object.defineProperty(process, 'env', env);
  }
}
