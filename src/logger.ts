// The process log: pino, with the redaction that keeps credentials and values out of every line.
import pino, { type Logger } from 'pino';

/** Log redaction: credentials and anything that could carry a value never reach a log line. */
const redactPaths = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'headers.authorization',
  'body',
  'value',
  '*.value',
  'token',
  'api_key',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, redact: { paths: redactPaths, censor: '[redacted]' } }, destination ?? pino.destination(1));
}
