/**
 * Broker options from the broker's own command-line flags, for a program that mounts the broker
 * and wants the same flags (`-l`, `-c`, `--max-message-size`, ...). `--help`, `--version` and
 * `--config` belong to the broker's CLI and are refused here.
 *
 * ```ts
 * const options = brokerOptionsFromArgs(process.argv.slice(2)); // throws UsageError
 * const broker = createBroker({ ...options, upgradeWebSocket });
 * ```
 */
import type { BrokerOptions } from '../options.ts';
import { UsageError, parseCommandLine } from './args.ts';
import { mergeConfiguration } from './config.ts';

export function brokerOptionsFromArgs(argv: readonly string[], env: Record<string, string | undefined> = {}): BrokerOptions {
  const command = parseCommandLine(argv, env);
  if (command.kind !== 'run') throw new UsageError(`--${command.kind} is a flag of the broker-hono command, not of this program`);
  if (command.configFile) throw new UsageError('--config is a flag of the broker-hono command, not of this program');
  return mergeConfiguration([command.env, command.flags]);
}
