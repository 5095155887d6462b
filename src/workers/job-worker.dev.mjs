// Source checkouts only (tests run the TypeScript directly): load the worker through tsx.
// The built package uses dist/workers/job-worker.js and never this file.
import { tsImport } from 'tsx/esm/api';

const mod = await tsImport('./job-worker.ts', import.meta.url);
export default mod.default;
