import { describe } from 'vitest';
import { mustHave, requireRuntime, skipNote } from '../integration/helpers/runtime.js';
import { describeEngineContract } from './engine-contract.js';
import { realEngineTarget } from './real-engine-target.js';

// Rootful or rootless: whichever CLAUDE_POD_TEST_ENGINE names (CI runs this file as both).
const env = await requireRuntime();

describe.skipIf(!env.available || env.runtime.kind !== 'podman')(`podman${skipNote(env)}`, () => {
  const rt = env.available
    ? `${env.runtime.rootless ? 'rootless' : 'rootful'} podman ${env.runtime.version}`
    : '';
  describeEngineContract(rt, async () => realEngineTarget(mustHave(env)));
});
