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
  return { kind: 'run', flags: flags as BrokerOptionsInput, env: fromEnv as BrokerOptionsInput, configFile };
}

/** `-c/--clients` for messages; the option name for options with no flag. */
export function flagLabel(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}/--${spec.long}` : `--${spec.long}`;
}

/** Names an option the way a CLI user knows it, for error messages. */
export function describeOptionForCli(option: string): string {
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
  for (const spec of FLAGS) {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${spec.long}${spec.kind === 'boolean' ? '' : spec.kind === 'number' ? ' N' : ' VALUE'}`;
    const description = (optionsShape[spec.option].description ?? '').replace(/`/g, '').split('. CLI')[0];
    lines.push(`  ${flag.padEnd(30)} ${description}`);
  }
  lines.push(`      --config FILE                JSON file with any of the options above (camelCase names)`);
  lines.push(`  -h, --help                       show this help`);
  lines.push(`  -V, --version                    show the version`);
  lines.push('', 'Environment: BROKER_LISTEN (comma-separated addresses), BROKER_MODE, BROKER_JWT_SECRET.');
  lines.push('Precedence: flags over environment over config file over defaults.');
  return lines.join('\n');
}
