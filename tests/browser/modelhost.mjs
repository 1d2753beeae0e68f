// What the browser tests share: starting and stopping the modelhost under test, Chromium's flags, the verdict.
import { spawn } from 'node:child_process';

// Starts modelhost and resolves with the process (its `port` set) once the start-up line names the port.
export function startModelhost(binary, args, name) {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d) => {
      out += d;
      const m = out.match(/serving .* at https?:\/\/[^ ]*:(\d+) /);
      if (m && !proc.port) {
        proc.port = Number(m[1]);
        resolve(proc);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.output = () => out;
    proc.on('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${out}`)));
    setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 20000).unref();
  });
}

// SIGTERM, then wait until it has exited and its output pipes are drained ('close', not 'exit').
export function stop(proc) {
  if (proc.exitCode !== null && proc.stdout.closed) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('close', resolve);
    proc.kill('SIGTERM');
  });
}

// The flags every browser test gives Debian's Chromium (headless, no sandbox: the tests run as root in CI; nothing
// fetched in the background).
export const chromiumFlags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Prints a case's verdict as ctest reads it (FAIL_REGULAR_EXPRESSION "FAIL "): PASS, or the console and the model
// server's log, then FAIL with every failure.
export function verdict(name, failures, logs, serverOutput) {
  if (failures.length) {
    console.log(`console:\n  ${logs.join('\n  ')}\nmodel server:\n${serverOutput}`);
    console.log(`FAIL ${name}: ${failures.join('; ')}`);
    process.exitCode = 1;
  } else {
    console.log(`PASS ${name}`);
  }
}

// Runs a test's main: an exception is a FAIL line (the case named `name`) and exit status 1.
export function runMain(main, name = process.argv[2]) {
  main().catch((e) => {
    console.error(`FAIL ${name}: ${e.stack || e}`);
    process.exit(1);
  });
}
