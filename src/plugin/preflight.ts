/**
 * What the plugin checks once when the gateway starts it, so a setup problem shows in the
 * gateway log with its fix before the first tool call runs into it: the configured image is
 * missing, or the gateway has no Anthropic credentials.
 */
import { execa } from 'execa';
import { detectRuntime } from '../runtime/detect.js';
import type { ResolvedConfig } from '../shared/config.js';
import { resolveCredential } from '../supervisor/auth.js';
import { imageFix } from '../tools/image-hint.js';

export interface PreflightFacts {
  /** null: could not be checked (no runtime; the supervisor reports that itself). */
  imageExists: boolean | null;
  hasCredential: boolean;
}

/** One warning per problem, each with its fix. Pure. */
export function preflightWarnings(config: ResolvedConfig, facts: PreflightFacts): string[] {
  const warnings: string[] = [];
  if (facts.imageExists === false) {
    warnings.push(
      `claude-code: the configured image ${config.image} does not exist on this host, so every claude_code_start ` +
        `will fail with IMAGE_NOT_FOUND. Fix: ${imageFix(config.image, 'gateway')}.`,
    );
  }
  if (!facts.hasCredential) {
    warnings.push(
      'claude-code: no Anthropic credentials for the gateway, so every claude_code_start will fail with NO_AUTH. ' +
        `Fix: set ANTHROPIC_API_KEY in the gateway's environment (or "env": {"vars": {...}} in openclaw.json), ` +
        `or log in with Claude Code so that ${config.credentialsPath} exists. To try the plugin without ` +
        'credentials, run `claude-pod mock-api` and point apiBaseUrl at it (see the README, "Trying it offline").',
    );
  }
  return warnings;
}

export async function gatherFacts(
  config: ResolvedConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PreflightFacts> {
  const [imageExists, credential] = await Promise.all([
    checkImage(config).catch(() => null),
    resolveCredential({ credentialsPath: config.credentialsPath, env }).catch(() => null),
  ]);
  return { imageExists, hasCredential: credential !== null };
}

async function checkImage(config: ResolvedConfig): Promise<boolean> {
  const rt = await detectRuntime({ runtime: config.runtime, ociRuntime: config.ociRuntime });
  const r = await execa(
    rt.command,
    [...rt.globalArgs, 'image', 'inspect', '--format', '{{.Id}}', config.image],
    {
      reject: false,
      stdin: 'ignore',
      timeout: 30_000,
    },
  );
  return r.exitCode === 0;
}
