// Starting and stopping the modelhost under test, shared by the browser tests.
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
