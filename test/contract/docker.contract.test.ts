import { describe } from 'vitest';
import { mustHave, requireRuntime, skipNote } from '../integration/helpers/runtime.js';
import { describeEngineContract } from './engine-contract.js';
import { realEngineTarget } from './real-engine-target.js';

// Run with CLAUDE_POD_TEST_ENGINE=docker (scripts/test-engines.mjs does).
const env = await requireRuntime();

describe.skipIf(!env.available || env.runtime.kind !== 'docker')(`docker${skipNote(env)}`, () => {
  const rt = env.available ? `Docker Engine ${env.runtime.version} (${env.runtime.command})` : '';
  describeEngineContract(rt, async () => realEngineTarget(mustHave(env)));
});
