/**
 * Runs under the gateway's Node 24 with the cached openclaw: grades tool results with OpenClaw's
 * own `isToolResultError` (the function that decides whether a call failed) and validates each
 * `details` against the tool's published outputSchema with the Ajv the gateway ships.
 *
 *   node grade.mjs <openclawDir>  < [{name, result, outputSchema}]  > [{name, failed, schemaErrors}]
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const openclawDir = process.argv[2];
const pkgDir = join(openclawDir, 'node_modules', 'openclaw');
const sdk = await import(pathToFileURL(join(pkgDir, 'dist', 'plugin-sdk', 'agent-harness-runtime.js')).href);
const require = createRequire(join(pkgDir, 'package.json'));
const Ajv2020 = require('ajv/dist/2020').default;

let input = '';
for await (const chunk of process.stdin) input += chunk;
const cases = JSON.parse(input);
const ajv = new Ajv2020({ strict: false, allErrors: true });
const out = cases.map(({ name, result, outputSchema }) => {
  const validate = ajv.compile(outputSchema);
  const valid = validate(result.details);
  return {
    name,
    failed: sdk.isToolResultError(result),
    schemaErrors: valid ? [] : validate.errors.map((e) => `${e.instancePath} ${e.message}`),
  };
});
process.stdout.write(JSON.stringify(out));
