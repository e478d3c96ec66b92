/**
 * src/cli/: argv and environment → option input (args.ts), config files and layer merging
 * (config.ts). Runtime-neutral, so tested in process; tests/cli.test.ts runs the real CLI.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FLAGS, UsageError, helpText, parseCommandLine, type Command } from '../src/cli/args.ts';
import { mergeConfiguration, parseConfigFile } from '../src/cli/config.ts';
import { optionsShape } from '../src/options.ts';

function run(argv: string[], env: Record<string, string> = {}): Extract<Command, { kind: 'run' }> {
  const command = parseCommandLine(argv, env);
  assert.equal(command.kind, 'run');
  return command as Extract<Command, { kind: 'run' }>;
}

/** argv (+ env, + config file object) → final options, as the CLI computes them. */
function resolve(argv: string[], env: Record<string, string> = {}, file = {}) {
  const command = run(argv, env);
  return mergeConfiguration([file, command.env, command.flags]);
}

function usageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected UsageError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'));
    return true;
  });
}

describe('CLI arguments', () => {
  it('no arguments: every default', () => {
    assert.deepEqual(run([]), { kind: 'run', flags: {}, env: {}, configFile: undefined });
    const options = resolve([]);
    assert.deepEqual(options.listen, ['http://*:3000']);
    assert.equal(options.mode, 'development');
  });

  it('-h/--help and -V/--version win wherever they stand', () => {
    for (const flag of ['-h', '--help']) assert.deepEqual(parseCommandLine([flag], {}), { kind: 'help' });
    for (const flag of ['-V', '--version']) assert.deepEqual(parseCommandLine([flag], {}), { kind: 'version' });
    assert.deepEqual(parseCommandLine(['-c', '5', '--help'], {}), { kind: 'help' });
  });

  it('short, long, inline and separate values', () => {
    const options = resolve([
      '-l', 'http://127.0.0.1:0',
      '--listen=http://[::1]:0',
      '-lhttp://localhost:0',
      '--mode', 'production',
      '-c', '7',
      '-i', '2.5',
      '--max-message-size=2048',
      '--max-buffered-bytes', '4096',
      '--ping-interval', '10',
      '--push-queue-limit', '0',
      '--push-queue-bytes', '65536',
      '--max-held-bytes=1048576',
      '--max-posts-in-flight', '3',
      '--headers-timeout', '2.5',
      '--body-timeout=4',
      '--max-topic-depth', '4',
      '--max-topic-length', '64',
      '--history-size', '100',
      '--history-ttl=0.5',
      '--history-max-bytes', '65536',
      '--allow-origin', 'example.com',
      '--allow-origin=*.example.org',
      '--redis', 'redis://127.0.0.1:6379/0',
    ]);
    assert.deepEqual(options, {
      listen: ['http://127.0.0.1:0', 'http://[::1]:0', 'http://localhost:0'],
      mode: 'production',
      maxConnections: 7,
      inactivityTimeout: 2.5,
      maxMessageSize: 2048,
      maxBufferedBytes: 4096,
      pingInterval: 10,
      pushQueueLimit: 0,
      pushQueueBytes: 65536,
      maxHeldBytes: 1048576,
      maxPostsInFlight: 3,
      headersTimeout: 2.5,
      bodyTimeout: 4,
      maxTopicDepth: 4,
      maxTopicLength: 64,
      historySize: 100,
      historyTtl: 0.5,
      historyMaxBytes: 65536,
      allowOrigin: ['example.com', '*.example.org'],
      redis: 'redis://127.0.0.1:6379/0',
    });
  });

  it('a later single-valued flag overrides an earlier one', () => {
    assert.equal(resolve(['-m', 'production', '-m', 'development']).mode, 'development');
    assert.equal(resolve(['-c', '1', '--clients', '9']).maxConnections, 9);
  });

  it('--config names the file to read', () => {
    assert.equal(run(['--config', 'broker.json']).configFile, 'broker.json');
    assert.equal(run(['--config=other.json']).configFile, 'other.json');
  });

  it('unknown flags and stray arguments are one-line usage errors naming them', () => {
    usageError(() => parseCommandLine(['--nope'], {}), /unknown option --nope/);
    usageError(() => parseCommandLine(['--nope=1'], {}), /unknown option --nope=1/);
    usageError(() => parseCommandLine(['-x'], {}), /unknown option -x/);
    usageError(() => parseCommandLine(['--'], {}), /unknown option --/);
    usageError(() => parseCommandLine(['serve'], {}), /unexpected argument "serve"/);
    usageError(() => parseCommandLine(['-'], {}), /unexpected argument "-"/);
  });

  it('a flag without its value is a usage error', () => {
    usageError(() => parseCommandLine(['-c'], {}), /-c needs a value/);
    usageError(() => parseCommandLine(['--listen'], {}), /--listen needs a value/);
    usageError(() => parseCommandLine(['--config'], {}), /--config needs a value/);
  });

  it('bad values name the flag as the user typed it', () => {
    usageError(() => resolve(['-c', 'abc']), /^-c\/--clients must be a number, got "abc"$/);
    usageError(() => resolve(['-c', '']), /-c\/--clients must be a number/);
    usageError(() => resolve(['-c', '0x10']), /-c\/--clients must be a number/);
    usageError(() => resolve(['-c', '0']), /^-c\/--clients \(maxConnections\): /);
    usageError(() => resolve(['-c', '1.5']), /^-c\/--clients \(maxConnections\): /);
    usageError(() => resolve(['-c', '-3']), /^-c\/--clients \(maxConnections\): /);
    usageError(() => resolve(['-m', 'staging']), /^-m\/--mode \(mode\): .*development.*production/);
    usageError(() => resolve(['-l', 'nonsense']), /^-l\/--listen \(listen\): must look like http:\/\/HOST:PORT or https:\/\/HOST:PORT\?cert=FILE&key=FILE$/);
    usageError(() => resolve(['-l', 'http://*:99999']), /^-l\/--listen \(listen\): port must be 0-65535$/);
    usageError(() => resolve(['-i', 'soon']), /-i\/--inactivity-timeout must be a number/);
    usageError(() => resolve(['--max-message-size', '0']), /^--max-message-size \(maxMessageSize\): /);
    usageError(() => resolve(['--redis', 'localhost']), /^--redis \(redis\): must be a redis:\/\/ URL$/);
  });

  it('numbers: decimals and exponents are numbers, whitespace around is tolerated', () => {
    assert.equal(resolve(['-c', '1e3']).maxConnections, 1000);
    assert.equal(resolve(['-i', '.5']).inactivityTimeout, 0.5);
    assert.equal(resolve(['-c', ' 12 ']).maxConnections, 12);
  });

  it('BROKER_LISTEN (comma-separated) and BROKER_MODE', () => {
    const options = resolve([], { BROKER_LISTEN: 'http://127.0.0.1:1, http://127.0.0.1:2,', BROKER_MODE: 'production' });
    assert.deepEqual(options.listen, ['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    assert.equal(options.mode, 'production');
    // A bad variable is blamed on the variable, not on a flag the user never typed.
    usageError(() => resolve([], { BROKER_MODE: 'prod' }), /^BROKER_MODE \(mode\): /);
    usageError(() => resolve([], { BROKER_LISTEN: 'localhost:3000' }), /^BROKER_LISTEN \(listen\): .*HOST:PORT/);
    // The flag that wins over a variable is the one blamed.
    usageError(() => resolve(['-m', 'staging'], { BROKER_MODE: 'production' }), /^-m\/--mode \(mode\): /);
    usageError(() => resolve([], { BROKER_MODE: 'prod' }, { mode: 'production' }), /^BROKER_MODE/);
    // Empty variables are as good as unset.
    assert.deepEqual(resolve([], { BROKER_LISTEN: '', BROKER_MODE: '' }).listen, ['http://*:3000']);
  });

  it('precedence: flags over environment over config file over defaults', () => {
    const file = { listen: ['http://127.0.0.1:3'], mode: 'production' as const, maxConnections: 5, pushQueueLimit: 9 };
    const env = { BROKER_LISTEN: 'http://127.0.0.1:2', BROKER_MODE: 'development' };
    const fromFile = resolve([], {}, file);
    assert.deepEqual(fromFile.listen, ['http://127.0.0.1:3']);
    assert.equal(fromFile.mode, 'production');
    const fromEnv = resolve([], env, file);
    assert.deepEqual(fromEnv.listen, ['http://127.0.0.1:2']);
    assert.equal(fromEnv.mode, 'development');
    assert.equal(fromEnv.maxConnections, 5);
    const fromFlags = resolve(['-l', 'http://127.0.0.1:1', '-c', '6', '-m', 'production'], env, file);
    assert.deepEqual(fromFlags.listen, ['http://127.0.0.1:1']);
    assert.equal(fromFlags.maxConnections, 6);
    assert.equal(fromFlags.mode, 'production');
    assert.equal(fromFlags.pushQueueLimit, 9);
  });

  it('config files: JSON object of camelCase options, checked with the schema', () => {
    assert.deepEqual(parseConfigFile('b.json', '{"maxConnections": 3, "mode": "production"}'), { maxConnections: 3, mode: 'production' });
    assert.deepEqual(parseConfigFile('b.json', '{}'), {});
    usageError(() => parseConfigFile('b.json', '{'), /^config file b\.json is not valid JSON/);
    usageError(() => parseConfigFile('b.json', ''), /^config file b\.json is not valid JSON/);
    usageError(() => parseConfigFile('b.json', '[1]'), /^config file b\.json must hold a JSON object$/);
    usageError(() => parseConfigFile('b.json', 'null'), /must hold a JSON object/);
    usageError(() => parseConfigFile('b.json', '"x"'), /must hold a JSON object/);
    usageError(() => parseConfigFile('b.json', '{"maxConnections": "many"}'), /^config file b\.json: maxConnections: /);
    usageError(() => parseConfigFile('b.json', '{"clients": 3}'), /^config file b\.json: unknown option "clients"$/);
  });

  it('--help lists every flag and option', () => {
    const text = helpText('1.2.3');
    assert.match(text, /broker-hono 1\.2\.3/);
    for (const spec of FLAGS) {
      assert.ok(text.includes(`--${spec.long}`), spec.long);
      if (spec.short) assert.ok(text.includes(`-${spec.short}, --${spec.long}`), spec.short);
    }
    for (const flag of ['--config FILE', '-h, --help', '-V, --version', 'BROKER_LISTEN', 'BROKER_MODE']) assert.ok(text.includes(flag), flag);
    // Every row's description starts in the same column (the last three rows included).
    const rows = text.split('\n').filter((line) => /^  -/.test(line) || /^ {6}--/.test(line));
    assert.equal(rows.length, FLAGS.length + 3);
    const columns = new Set(rows.map((line) => /^ {2}.{30} (?=\S)/.exec(line)?.[0].length));
    assert.deepEqual([...columns], [33], rows.join('\n'));
    // Each option with a default shows it.
    assert.match(text, /--listen VALUE .*\(default: http:\/\/\*:3000\)/);
    assert.match(text, /--mode VALUE .*\(default: development\)/);
    assert.match(text, /--clients N .*\(default: 10000\)/);
    assert.match(text, /--max-message-size N .*\(default: 1048576\)/);
    assert.doesNotMatch(text, /--redis VALUE .*default/);
    // Every option of the schema is reachable from the command line.
    assert.deepEqual(new Set(FLAGS.map((spec) => spec.option)), new Set(Object.keys(optionsShape)));
  });
});
