// The load clients' tally: latencies of 2xx answers inside the window, every other outcome counted apart.
import { percentile } from './measure.mjs';

export class LatencyTally {
  constructor() {
    this.lat = new Float64Array(1 << 16);
    this.ok = 0; // 2xx completed inside the window
    this.late = 0; // 2xx completed after the window (started inside it)
    this.non2xx = 0;
    this.errors = 0;
    this.timeouts = 0;
    this.status = {};
    this.samples = [];
  }
  answer(status, start, end, deadline) {
    this.status[status] = (this.status[status] ?? 0) + 1;
    if (status < 200 || status >= 300) return void this.non2xx++;
    if (end > deadline) return void this.late++;
    if (this.ok === this.lat.length) {
      const grown = new Float64Array(this.lat.length * 2);
      grown.set(this.lat);
      this.lat = grown;
    }
    this.lat[this.ok++] = end - start;
  }
  fail(err, timedOut = false) {
    if (timedOut) this.timeouts++;
    else this.errors++;
    if (this.samples.length < 5) this.samples.push(String(err?.code ?? err?.message ?? err).slice(0, 200));
  }
  result(durationS, extra) {
    const sorted = this.lat.subarray(0, this.ok).sort();
    return {
      duration_s: durationS,
      ok: this.ok,
      late_ok: this.late,
      non2xx: this.non2xx,
      errors: this.errors,
      timeouts: this.timeouts,
      status_codes: this.status,
      error_samples: this.samples,
      p50_ms: percentile(sorted, 50),
      p99_ms: percentile(sorted, 99),
      ...extra,
    };
  }
}
