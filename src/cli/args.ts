/**
 * Command-line flags and environment → option input, modelled on `mojo broker`. Runtime-neutral
 * (no process, Deno or Bun here): each runtime's entrypoint passes argv and env in.
 */
import { optionsShape, type BrokerOptionsInput } from '../options.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

type OptionName = keyof typeof optionsShape;

interface FlagSpec {
  option: OptionName;
  long: string;
  short?: string;
  /** `boolean`: a switch that takes no value (`-p`). */
  kind: 'string' | 'number' | 'list' | 'boolean';
}

export const FLAGS: readonly FlagSpec[] = [
  { option: 'listen', long: 'listen', short: 'l', kind: 'list' },
  { option: 'mode', long: 'mode', short: 'm', kind: 'string' },
  { option: 'maxConnections', long: 'clients', short: 'c', kind: 'number' },
  { option: 'inactivityTimeout', long: 'inactivity-timeout', short: 'i', kind: 'number' },
  { option: 'maxMessageSize', long: 'max-message-size', kind: 'number' },
  { option: 'maxBufferedBytes', long: 'max-buffered-bytes', kind: 'number' },
  { option: 'pingInterval', long: 'ping-interval', kind: 'number' },
  { option: 'pushQueueLimit', long: 'push-queue-limit', kind: 'number' },
  { option: 'pushQueueBytes', long: 'push-queue-bytes', kind: 'number' },
  { option: 'maxHeldBytes', long: 'max-held-bytes', kind: 'number' },
  { option: 'maxPostsInFlight', long: 'max-posts-in-flight', kind: 'number' },
  { option: 'headersTimeout', long: 'headers-timeout', kind: 'number' },
  { option: 'bodyTimeout', long: 'body-timeout', kind: 'number' },
  { option: 'maxTopicDepth', long: 'max-topic-depth', kind: 'number' },
  { option: 'maxTopicLength', long: 'max-topic-length', kind: 'number' },
  { option: 'historySize', long: 'history-size', kind: 'number' },
  { option: 'historyTtl', long: 'history-ttl', kind: 'number' },
  { option: 'historyMaxBytes', long: 'history-max-bytes', kind: 'number' },
  { option: 'allowOrigin', long: 'allow-origin', kind: 'list' },
  { option: 'redis', long: 'redis', kind: 'string' },
  { option: 'jwtSecret', long: 'jwt-secret', kind: 'string' },
  { option: 'jwtPublicKey', long: 'jwt-public-key', kind: 'string' },
  { option: 'jwks', long: 'jwks', kind: 'string' },
  { option: 'jwtIssuer', long: 'jwt-issuer', kind: 'string' },
  { option: 'jwtAudience', long: 'jwt-audience', kind: 'string' },
  { option: 'proxy', long: 'proxy', short: 'p', kind: 'boolean' },
];

/**
 * Every environment variable the CLI reads. Runtimes that gate the environment (Deno) read just
 * these, and `deno.json`'s permission set allows just these (a test keeps the two in step).
 */
export const CLI_ENVIRONMENT = ['BROKER_LISTEN', 'BROKER_MODE', 'BROKER_JWT_SECRET'] as const;

/** The environment variable behind an option, to name it when its value is refused. */
const ENVIRONMENT_VARIABLE_OF: Partial<Record<string, (typeof CLI_ENVIRONMENT)[number]>> = { listen: 'BROKER_LISTEN', mode: 'BROKER_MODE', jwtSecret: 'BROKER_JWT_SECRET' };

/**
 * The option layers that came from the environment (`parseCommandLine`'s `env`), so that a bad
 * value is blamed on the variable the user set rather than on a flag they never typed.
 */
const environmentLayers = new WeakSet<object>();

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'run'; flags: BrokerOptionsInput; env: BrokerOptionsInput; configFile?: string };

/** Parses argv (without the program name). Throws `UsageError` with a one-line message. */
export function parseCommandLine(argv: readonly string[], env: Record<string, string | undefined>): Command {
  const flags: Record<string, unknown> = {};
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '-V' || arg === '--version') return { kind: 'version' };
    let name: string;
    let inlineValue: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inlineValue = eq === -1 ? undefined : arg.slice(eq + 1);
    } else if (arg.startsWith('-') && arg.length >= 2) {
      name = arg.slice(1, 2);
      inlineValue = arg.length > 2 ? arg.slice(2) : undefined;
    } else {
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)} (see --help)`);
    }
    const takeValue = (): string => {
      if (inlineValue !== undefined) return inlineValue;
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      i++;
      return next;
    };
    if (name === 'config') {
      configFile = takeValue();
      continue;
    }
    const spec = FLAGS.find((flag) => flag.long === name || flag.short === name);
    if (!spec) throw new UsageError(`unknown option ${arg} (see --help)`);
    if (spec.kind === 'boolean') {
      if (inlineValue !== undefined) throw new UsageError(`${arg} takes no value`);
      flags[spec.option] = true;
      continue;
    }
    const value = takeValue();
    if (spec.kind === 'list') (flags[spec.option] as string[] | undefined)?.push(value) ?? (flags[spec.option] = [value]);
    else if (spec.kind === 'number') flags[spec.option] = parseNumber(value, flagLabel(spec));
    else flags[spec.option] = value;
  }
  const fromEnv: Record<string, unknown> = {};
  if (env.BROKER_LISTEN) fromEnv.listen = env.BROKER_LISTEN.split(',').map((s) => s.trim()).filter(Boolean);
  if (env.BROKER_MODE) fromEnv.mode = env.BROKER_MODE;
  // The secret may come from the environment so that it stays out of `ps` and shell history.
  if (env.BROKER_JWT_SECRET) fromEnv.jwtSecret = env.BROKER_JWT_SECRET;
  environmentLayers.add(fromEnv);
  return { kind: 'run', flags: flags as BrokerOptionsInput, env: fromEnv as BrokerOptionsInput, configFile };
}

/** `-c/--clients` for messages; the option name for options with no flag. */
export function flagLabel(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}/--${spec.long}` : `--${spec.long}`;
}

/**
 * Names an option the way a CLI user knows it, for error messages: the environment variable when
 * `layer` (the layer whose value was refused) came from the environment, else the flag.
 */
export function describeOptionForCli(option: string, layer?: object): string {
  const variable = ENVIRONMENT_VARIABLE_OF[option];
  if (variable && layer && environmentLayers.has(layer)) return `${variable} (${option})`;
  const spec = FLAGS.find((flag) => flag.option === option);
  return spec ? `${flagLabel(spec)} (${option})` : option;
}

function parseNumber(value: string, label: string): number {
  if (!/^\s*-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(value)) {
    throw new UsageError(`${label} must be a number, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export function helpText(version: string): string {
  const lines = [
    `broker-hono ${version}: a WebSocket message broker (pub/sub, bus, push/pull, SSE)`,
    '',
    'Usage: broker-hono [OPTIONS]',
    '',
    'Options:',
  ];
  // Every row through one formatter, so the descriptions line up whatever the flag.
  const row = (short: string | undefined, long: string, description: string) =>
    `  ${`${short ? `-${short}, ` : '    '}--${long}`.padEnd(30)} ${description}`;
  for (const spec of FLAGS) {
    const schema = optionsShape[spec.option];
    const description = (schema.description ?? '').replace(/`/g, '').split('. CLI')[0] ?? '';
    const shown = spec.kind === 'boolean' ? undefined : defaultShown(schema.safeParse(undefined));
    const flag = `${spec.long}${spec.kind === 'boolean' ? '' : spec.kind === 'number' ? ' N' : ' VALUE'}`;
    lines.push(row(spec.short, flag, shown ? `${description} (default: ${shown})` : description));
  }
  lines.push(row(undefined, 'config FILE', 'JSON file with any of the options above (camelCase names)'));
  lines.push(row('h', 'help', 'show this help'));
  lines.push(row('V', 'version', 'show the version'));
  lines.push('', 'Environment: BROKER_LISTEN (comma-separated addresses), BROKER_MODE, BROKER_JWT_SECRET.');
  lines.push('Precedence: flags over environment over config file over defaults.');
  return lines.join('\n');
}

/** A schema's default as a user would type it (`http://*:3000`, `10000`); none for an optional option. */
function defaultShown(parsed: { success: boolean; data?: unknown }): string | undefined {
  if (!parsed.success || parsed.data === undefined) return undefined;
  return Array.isArray(parsed.data) ? parsed.data.join(', ') : String(parsed.data);
}
