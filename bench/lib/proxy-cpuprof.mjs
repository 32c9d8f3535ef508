// Preload for profiling the server in the proxy scenario (`--cpu-prof` is not allowed in
// NODE_OPTIONS): `NODE_OPTIONS="--import <this file>" BENCH_CPU_PROF_DIR=<dir>`. Samples the
// whole process with the V8 profiler and writes <dir>/<name>-<pid>.cpuprofile when it exits.
// Used only when the scenario runs with BENCH_PROXY_CPU_PROF=<dir>; analyse with proxy-profile-top.mjs.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // The in-thread inspector answers synchronously, so the profile is written before exit.
    session.post('Profiler.stop', (err, res) => {
      if (!err && res?.profile) writeFileSync(join(dir, `vaultgate-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
