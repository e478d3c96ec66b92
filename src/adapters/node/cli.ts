/**
 * `npx broker-hono`: argv and environment → validated options → the Node server. Usage errors
 * are one line and exit 2; a listen failure is one line and exit 1; SIGINT/SIGTERM close every
 * socket with 1001 and exit 0.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, helpText, parseCommandLine } from '../../cli/args.ts';
import { mergeConfiguration, parseConfigFile } from '../../cli/config.ts';
import { ListenError, serveBroker } from './serve.ts';

export async function main(argv: readonly string[]): Promise<void> {
  let command;
  let options;
  try {
    command = parseCommandLine(argv, process.env);
    if (command.kind === 'help') {
      process.stdout.write(helpText(packageVersion()) + '\n');
      return;
    }
    if (command.kind === 'version') {
      process.stdout.write(`broker-hono ${packageVersion()}\n`);
      return;
    }
    const fromFile = command.configFile ? parseConfigFile(command.configFile, readConfig(command.configFile)) : {};
    options = mergeConfiguration([fromFile, command.env, command.flags]);
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && error.message.startsWith('allowOrigin'))) {
      process.stderr.write(`broker-hono: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  let running;
  try {
    running = await serveBroker(options);
  } catch (error) {
    if (error instanceof ListenError || (error instanceof TypeError && error.message.startsWith('allowOrigin'))) {
      process.stderr.write(`broker-hono: ${error.message}\n`);
      process.exit(error instanceof ListenError ? 1 : 2);
    }
    throw error;
  }
  for (const url of running.urls) process.stdout.write(`Listening at ${url}\n`);
  process.stdout.write(`broker-hono ${packageVersion()} in ${options.mode} mode${options.mode === 'development' ? ' (demo page at /)' : ''}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: closing every connection\n`);
    // Never hang past the protocol's 5 s, whatever a peer does.
    setTimeout(() => process.exit(0), 4500).unref();
    running.close(3500).then(() => process.exit(0), () => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function readConfig(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

let version: string | undefined;
export function packageVersion(): string {
  if (version) return version;
  // The file runs from src/ (tsx) or dist/src/ (built): walk up to our package.json.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'broker-hono') return (version = pkg.version ?? '0.0.0');
    }
  }
  return (version = '0.0.0');
}
