/**
 * Every broker option, once. The zod schema here drives `createBroker`, the CLI, the JSON config
 * file and the option table in the README (`npm run docs:options` prints it), so they cannot drift.
 */
import { z } from 'zod';

const positiveInt = () => z.number().int().positive();

/**
 * The shape of a listen address: `http://HOST:PORT`, or `https://HOST:PORT?cert=FILE&key=FILE`
 * (PEM files, the form `mojo broker` took); `*` means every interface.
 */
export const listenAddressSchema: z.ZodString = z
  .string()
  .regex(/^https?:\/\/(\*|\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})(\?.*)?$/, 'must look like http://HOST:PORT or https://HOST:PORT?cert=FILE&key=FILE')
  .refine((value) => Number(/:(\d+)(\?|$)/.exec(value)?.[1]) <= 65535, 'port must be 0-65535')
  .superRefine((value, issues) => {
    const problem = listenQueryProblem(value);
    if (problem) issues.addIssue({ code: 'custom', message: problem });
  });

/** What is wrong with a listen address's query: `https` needs exactly `cert` and `key`, `http` none. */
function listenQueryProblem(address: string): string | undefined {
  const question = address.indexOf('?');
  const query = new URLSearchParams(question === -1 ? '' : address.slice(question + 1));
  if (address.startsWith('http:')) return question === -1 ? undefined : 'an http:// address takes no ?query (cert and key are for https://)';
  const names = [...query.keys()];
  if (!query.get('cert') || !query.get('key')) return 'an https:// address needs ?cert=FILE&key=FILE (PEM files)';
  const unknown = names.find((name) => name !== 'cert' && name !== 'key');
  return unknown === undefined ? undefined : `unknown listen parameter ${JSON.stringify(unknown)} (https:// takes cert and key)`;
}

export const optionsShape = {
  listen: z
    .array(listenAddressSchema)
    .min(1)
    .default(['http://*:3000'])
    .describe('Addresses to listen on (`http://HOST:PORT`, or `https://HOST:PORT?cert=FILE&key=FILE` with PEM files; `*` for every interface, port `0` for a free one). CLI `-l/--listen` (repeatable), env `BROKER_LISTEN` (comma-separated). Standalone only: `createBroker` refuses it (your server listens).'),
  mode: z
    .enum(['development', 'production'])
    .default('development')
    .describe('`development` serves the demo page at `/`; `production` answers 404 there. CLI `-m/--mode`, env `BROKER_MODE`. The default is the command line\'s; `createBroker` defaults to `production`.'),
  maxConnections: positiveInt()
    .default(10000)
    .describe('Open WebSocket and SSE connections allowed at once; past it new ones get `503`. CLI `-c/--clients`.'),
  maxMessageSize: positiveInt()
    .default(1024 * 1024)
    .describe('Largest message in bytes: a bigger WebSocket frame closes that socket with `1009`, a bigger POST gets `413`. CLI `--max-message-size`.'),
  maxBufferedBytes: positiveInt()
    .default(4 * 1024 * 1024)
    .describe('Unsent bytes a receiver may have queued; past it the receiver is closed with `1013` (slow consumer). CLI `--max-buffered-bytes`.'),
  pingInterval: z.number().positive()
    .default(30)
    .describe('Seconds between server pings; a socket that has not answered by the next ping is closed. CLI `--ping-interval`.'),
  inactivityTimeout: z.number().positive()
    .default(1200)
    .describe('Seconds a socket may go without any frame either way (pongs count) before it is closed. CLI `-i/--inactivity-timeout`.'),
  pushQueueLimit: z.number().int().nonnegative()
    .default(10000)
    .describe('Messages a push topic holds while no puller is connected; past it POST gets `503` and a WebSocket pusher is closed with `1013`. CLI `--push-queue-limit`.'),
  // Half of maxBufferedBytes' default: a full queue goes to the first puller at once, and must
  // not make it a slow consumer.
  pushQueueBytes: positiveInt()
    .default(2 * 1024 * 1024)
    .describe('Bytes of messages a push topic holds while no puller is connected; past it POST gets `503` and a WebSocket pusher is closed with `1013`. Keep it under `maxBufferedBytes`: a puller gets the whole queue at once. CLI `--push-queue-bytes`.'),
  maxHeldBytes: positiveInt()
    .default(256 * 1024 * 1024)
    .describe('Bytes the broker holds for clients at once (queued pushes with their bookkeeping, POST bodies being read); past it POST gets `503` and a WebSocket pusher is closed with `1013`. In cluster mode Redis applies it to every push queue together. CLI `--max-held-bytes`.'),
  maxPostsInFlight: positiveInt()
    .default(256)
    .describe('POST requests being read or handled at once; past it a POST gets `503` with `Retry-After: 1`. CLI `--max-posts-in-flight`.'),
  headersTimeout: z.number().positive().max(86400)
    .default(10)
    .describe('Seconds a client may take to send a request line and headers, from its first byte; past it the connection is dropped (Node and Deno answer `408`). A connection that sends nothing is closed after as long. Bun drops an unfinished or silent head after 10–13 s on its own. CLI `--headers-timeout`.'),
  bodyTimeout: z.number().positive().max(86400)
    .default(30)
    .describe('Seconds a POST body may take to arrive once its headers are in; past it the POST gets `408` and the connection is closed. CLI `--body-timeout`.'),
  maxTopicDepth: positiveInt()
    .default(32)
    .describe('Most `/`-separated segments in a topic. CLI `--max-topic-depth`.'),
  maxTopicLength: positiveInt()
    .default(1024)
    .describe('Most bytes (UTF-8, decoded) in a topic. CLI `--max-topic-length`.'),
  historySize: z.number().int().nonnegative()
    .default(0)
    .describe('Messages kept per topic (published to it or a descendant) so that a subscriber can resume with `?since=ID`; 0 keeps none. CLI `--history-size`.'),
  historyTtl: z.number().positive()
    .default(300)
    .describe('Seconds a message stays in history. CLI `--history-ttl`.'),
  historyMaxBytes: positiveInt()
    .default(64 * 1024 * 1024)
    .describe('Bytes history may hold in this process (payloads and bookkeeping); past it the oldest messages go first. Cluster mode keeps history in Redis instead. CLI `--history-max-bytes`.'),
  allowOrigin: z
    .array(z.string().min(1))
    .optional()
    .describe('Origins let in (`example.com`, `*.example.com` or `https://example.com:8443`); unset lets every origin in. CLI `--allow-origin` (repeatable).'),
  redis: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .optional()
    .describe('Cluster mode: `redis://HOST:PORT/DB` of the Redis that joins broker processes. Unset: in-memory, single process. CLI `--redis`.'),
  jwtSecret: z
    .string()
    // RFC 7518 §3.2: an HMAC key at least as long as the hash (32 bytes for HS256).
    .min(32, 'must be at least 32 characters (RFC 7518 §3.2)')
    .optional()
    .describe('Turns auth on: the HMAC secret of HS256/HS384/HS512 tokens (at least 32 characters). CLI `--jwt-secret`, env `BROKER_JWT_SECRET` (keeps it off the command line).'),
  jwtPublicKey: z
    .string()
    .min(1)
    .optional()
    .describe('Turns auth on: a PEM public key (`BEGIN PUBLIC KEY`; RSA for RS*/PS*, EC P-256/384/521 for ES*, Ed25519 for EdDSA): a file, or to `createBroker` the PEM text. CLI `--jwt-public-key FILE`.'),
  jwks: z
    .string()
    .min(1)
    // Keys fetched over plain HTTP could be swapped by anyone on the path: loopback only.
    .refine((value) => !/^http:\/\//i.test(value) || /^http:\/\/(127\.\d+\.\d+\.\d+|\[::1\]|localhost)(:\d+)?(\/|$)/i.test(value), 'an http:// URL must be on a loopback address (127.0.0.1, [::1], localhost); use https://')
    .optional()
    .describe('Turns auth on: a JSON Web Key Set, `https://…` URL (`http://` on loopback only) or JSON file, keys picked by `kid`; cached, fetched again on an unknown `kid`. CLI `--jwks URL_OR_FILE`.'),
  jwtIssuer: z.string().min(1).optional().describe('With auth on, tokens must carry this `iss`. CLI `--jwt-issuer`.'),
  jwtAudience: z.string().min(1).optional().describe('With auth on, tokens must name this in `aud`. CLI `--jwt-audience`.'),
  proxy: z
    .boolean()
    .optional()
    .describe('Behind a reverse proxy: trust `X-Forwarded-For` (client address in log lines) and `X-Forwarded-Proto` (the scheme the origin check sees). Off unless set. CLI `-p/--proxy`.'),
} as const;

/**
 * Options after defaults are applied. Written out (the schema above is the source of truth, and
 * `schemaMatches` below fails to compile when the two differ) because a published type may not
 * be inferred (JSR's "slow types"), and a zod type spelled out option by option reads worse.
 */
export interface BrokerOptions {
  listen: string[];
  mode: 'development' | 'production';
  maxConnections: number;
  maxMessageSize: number;
  maxBufferedBytes: number;
  pingInterval: number;
  inactivityTimeout: number;
  pushQueueLimit: number;
  pushQueueBytes: number;
  maxHeldBytes: number;
  maxPostsInFlight: number;
  headersTimeout: number;
  bodyTimeout: number;
  maxTopicDepth: number;
  maxTopicLength: number;
  historySize: number;
  historyTtl: number;
  historyMaxBytes: number;
  allowOrigin?: string[] | undefined;
  redis?: string | undefined;
  jwtSecret?: string | undefined;
  jwtPublicKey?: string | undefined;
  jwks?: string | undefined;
  jwtIssuer?: string | undefined;
  jwtAudience?: string | undefined;
  proxy?: boolean | undefined;
}

/** Options as a caller writes them: every field optional. */
export type BrokerOptionsInput = { [K in keyof BrokerOptions]?: BrokerOptions[K] | undefined };

const schema = z.object(optionsShape).strict();

/** The one schema of options, as `BrokerOptionsInput` in and `BrokerOptions` out. */
export const brokerOptionsSchema: z.ZodType<BrokerOptions, BrokerOptionsInput> = schema;

// Adding an option to `optionsShape` means adding it to `BrokerOptions` too: this says so.
// (Exact equality: optional options would otherwise slip through a two-way `extends`.)
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const schemaMatches: [Same<z.output<typeof schema>, BrokerOptions>, Same<z.input<typeof schema>, BrokerOptionsInput>] = [true, true];
void schemaMatches;

/** Validates options, filling in defaults. Throws an `OptionsError` with a one-line message. */
export function resolveOptions(input: unknown = {}): BrokerOptions {
  const result = brokerOptionsSchema.safeParse(input ?? {});
  if (!result.success) throw new OptionsError(describeIssue(result.error.issues[0]));
  return result.data;
}

export class OptionsError extends Error {
  override name = 'OptionsError';
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid options';
  const path = issue.path.length ? issue.path.join('.') : 'options';
  if (issue.code === 'unrecognized_keys') return `unknown option ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${path}: ${issue.message}`;
}

/** One row per option for the README table. */
export function optionRows(): Array<{ name: string; type: string; defaultValue: string; description: string }> {
  return Object.entries(optionsShape).map(([name, schema]) => {
    const json = z.toJSONSchema(schema as z.ZodType, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    const type = json.enum ? (json.enum as string[]).map((v) => `\`${v}\``).join(' \\| ') : json.type === 'array' ? 'string[]' : String(json.type ?? 'string');
    const defaultValue = 'default' in json ? `\`${JSON.stringify(json.default)}\`` : '—';
    return { name, type, defaultValue, description: schema.description ?? '' };
  });
}
