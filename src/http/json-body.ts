// The JSON body parser: prototype-poisoning keys and duplicate keys are refused, not merged.
import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { VaultError } from '../contract/errors.js';
import { findDuplicateKey } from '../core/json-duplicates.js';

export function registerJsonParser(app: FastifyInstance): void {
  // Fastify's built-in text/plain parser would hand a string body to JSON routes (400 instead of 415).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(/^application\/([a-z0-9.+-]+\+)?json(\s*;.*)?$/i, { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    let parsed: unknown;
    try {
      parsed = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch (err) {
      // secure-json-parse reports poisoning keys with a SyntaxError of its own wording.
      const poisoned = /forbidden prototype property/i.test(String((err as Error).message));
      done(poisoned ? new VaultError('invalid_request', 'fields named __proto__ or constructor.prototype are not allowed') : new VaultError('malformed_json'), undefined);
      return;
    }
    const duplicate = findDuplicateKey(text);
    if (duplicate !== null) {
      done(new VaultError('invalid_request', `duplicate key in JSON object at ${duplicate}`), undefined);
      return;
    }
    done(null, parsed);
  });
}
