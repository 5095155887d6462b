/**
 * Deterministic identifiers: derived from a hash of what the request asked, never random, so
 * the same request yields byte-identical replies across runs.
 */
import { createHash } from 'node:crypto';

export function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

export interface ReplyIds {
  messageId: string;
  requestId: string;
  toolUseId(index: number): string;
}

export function replyIds(seed: string): ReplyIds {
  return {
    messageId: `msg_mock_${seed.slice(0, 24)}`,
    requestId: `req_mock_${seed.slice(24, 48)}`,
    toolUseId: (index) => `toolu_mock_${digest([seed, index]).slice(0, 24)}`,
  };
}
