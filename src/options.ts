/**
 * Every broker option, once. The zod schema here drives `createBroker`, the CLI, the JSON config
 * file and the option table in the README (`npm run docs:options` prints it), so they cannot drift.
 */
import { z } from 'zod';

const positiveInt = () => z.number().int().positive();

/** The shape of a listen address: `http://HOST:PORT`, `*` meaning every interface. */
export const listenAddressSchema: z.ZodString = z
  .string()
  .regex(/^http:\/\/(\*|\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, 'must look like http://HOST:PORT')
  .refine((value) => Number(value.slice(value.lastIndexOf(':') + 1)) <= 65535, 'port must be 0-65535');

export const optionsShape = {
  listen: z
    .array(listenAddressSchema)
    .min(1)
    .default(['http://*:3000'])
    .describe('Addresses to listen on (`http://HOST:PORT`, `*` for every interface, port `0` for a free one). CLI `-l/--listen` (repeatable), env `BROKER_LISTEN` (comma-separated). Standalone only: `createBroker` refuses it (your server listens).'),
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
  maxTopicDepth: positiveInt()
    .default(32)
    .describe('Most `/`-separated segments in a topic. CLI `--max-topic-depth`.'),
  maxTopicLength: positiveInt()
    .default(1024)
    .describe('Most bytes (UTF-8, decoded) in a topic. CLI `--max-topic-length`.'),
  allowOrigin: z
    .array(z.string().min(1))
    .optional()
    .describe('Origins let in (`example.com`, `*.example.com` or `https://example.com:8443`); unset lets every origin in. CLI `--allow-origin` (repeatable).'),
  redis: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .optional()
    .describe('Cluster mode: `redis://HOST:PORT/DB` of the Redis that joins broker processes. Unset: in-memory, single process. CLI `--redis`.'),
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
  maxTopicDepth: number;
  maxTopicLength: number;
  allowOrigin?: string[] | undefined;
  redis?: string | undefined;
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
