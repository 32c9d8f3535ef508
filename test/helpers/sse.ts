// A raw Server-Sent Events client for the audit stream tests: frames, events, and waiting on them.
import http from 'node:http';
import type { TestServer } from './server.js';

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
  retry?: string;
}

/** A raw `http.get` SSE client that splits the stream into frames (blocks separated by a blank line). */
export class SseClient {
  readonly frames: SseFrame[] = [];
  raw = '';
  status = 0;
  contentType = '';
  private req: http.ClientRequest | null = null;
  private waiters: (() => void)[] = [];
  private offset = 0;

  static async open(s: TestServer, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    await new Promise<void>((resolve, reject) => {
      c.req = http.get(`${s.api}${path}`, { headers: { authorization: `Bearer ${s.apiKey}`, ...headers } }, (res) => {
        c.status = res.statusCode ?? 0;
        c.contentType = String(res.headers['content-type'] ?? '');
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => c.push(chunk));
        res.on('error', () => undefined);
        resolve();
      });
      c.req.on('error', reject);
    });
    return c;
  }

  private push(chunk: string): void {
    this.raw += chunk;
    let end: number;
    while ((end = this.raw.indexOf('\n\n', this.offset)) !== -1) {
      const frame: SseFrame = {};
      for (const line of this.raw.slice(this.offset, end).split('\n')) {
        if (line.startsWith(':')) frame.comment = line.slice(1).trim();
        else {
          const at = line.indexOf(': ');
          frame[line.slice(0, at) as 'id' | 'event' | 'data' | 'retry'] = line.slice(at + 2);
        }
      }
      this.frames.push(frame);
      this.offset = end + 2;
    }
    for (const w of this.waiters.splice(0)) w();
  }

  events(): any[] {
    return this.frames.filter((f) => f.data !== undefined).map((f) => JSON.parse(f.data as string));
  }

  /** Resolves once `pred` holds, or rejects after `ms`. */
  async until(pred: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`SSE condition not met in ${ms} ms; received:\n${this.raw.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.req?.destroy();
  }
}
