// Placeholders: `vgph_` + 40 base62 characters, one per (agent, secret), stable and unguessable.
import { createHmac } from 'node:crypto';

export const placeholderPrefix = 'vgph_';
export const placeholderLength = placeholderPrefix.length + 40;
const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const placeholderPattern = /vgph_[0-9A-Za-z]{40}/g;

/**
 * HMAC(placeholder key, agent id ‖ 0 ‖ secret id), written in base62 (40 digits carry 238
 * bits). The key derives from the deployment root, so placeholders survive restarts, value
 * rotation and master-key rotation, and one agent's placeholder means nothing for another.
 */
export function placeholderFor(key: Buffer, agentId: string, secretId: string): string {
  const mac = createHmac('sha256', key).update(agentId).update('\0').update(secretId).digest();
  let n = BigInt(`0x${mac.toString('hex')}`);
  let digits = '';
  for (let i = 0; i < 40; i++) {
    digits = alphabet[Number(n % 62n)] + digits;
    n /= 62n;
  }
  return placeholderPrefix + digits;
}

export function isPlaceholder(text: string): boolean {
  return text.length === placeholderLength && /^vgph_[0-9A-Za-z]{40}$/.test(text);
}
