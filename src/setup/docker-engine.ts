import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { findExecutable, findRuntimeClient } from '../runtime/detect.js';
import type { ResolvedConfig } from '../shared/config.js';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import { cacheDir } from '../shared/paths.js';
import { tail } from './exec-checked.js';
import { aptInstall, canInstallWithApt } from './install-runtime.js';

/** Debian's Docker Engine: dockerd, containerd, runc, docker-init and a matching client. */
export const DOCKER_PACKAGES = ['docker.io'];

const READY_TIMEOUT_MS = 60_000;

async function engineAnswers(client: string): Promise<boolean> {
  const r = await execa(client, ['info', '--format', '{{.ServerVersion}}'], {
    reject: false,
    stdin: 'ignore',
    timeout: 15_000,
  });
  return r.exitCode === 0 && String(r.stdout).trim() !== '';
}

/**
 * The flags of a dockerd that setup starts itself (hosts without systemd only). With the default
 * `network: "none"`, jobs need no bridge: the daemon then creates no docker0 and leaves the
 * host's iptables alone (a default dockerd sets the FORWARD policy to DROP, which breaks other
 * engines' networking on the same host).
 */
export function dockerdArgs(config: Pick<ResolvedConfig, 'network'>): string[] {
  return config.network === 'bridge' ? [] : ['--iptables=false', '--ip-masq=false', '--bridge=none'];
}

const hasSystemd = (): boolean => existsSync('/run/systemd/system');

/**
 * Docker Engine, installed and answering: `docker.io` with apt when dockerd is missing (root on
 * Debian/Ubuntu), then the daemon started when it does not answer — `systemctl start docker` on
 * a systemd host, else dockerd itself, detached, logging to the cache folder. A DOCKER_HOST
 * elsewhere is only checked, never installed or started.
 */
export async function ensureDockerEngine(
  config: Pick<ResolvedConfig, 'network'>,
): Promise<{ detail: string }> {
  const done: string[] = [];
  if (!process.env.DOCKER_HOST && !(await findExecutable('dockerd'))) {
    const apt = await canInstallWithApt();
    if (!apt.ok) {
      throw new ClaudePodError(
        ErrorCodes.RUNTIME_MISSING,
        `Docker Engine (dockerd) is not installed and setup cannot install it (${apt.why}). Fix: as root on ` +
          `Debian/Ubuntu run \`apt-get install -y ${DOCKER_PACKAGES.join(' ')}\`, then rerun \`claude-pod setup\`.`,
      );
    }
    await aptInstall(DOCKER_PACKAGES);
    done.push(`installed ${DOCKER_PACKAGES.join(' ')} with apt-get`);
  }
  const client = await findRuntimeClient('docker');
  if (!client) {
    throw new ClaudePodError(
      ErrorCodes.RUNTIME_MISSING,
      'No docker client found. Fix: `apt-get install -y docker.io`.',
    );
  }
  if (await engineAnswers(client)) return { detail: [...done, `engine answers (${client})`].join('; ') };
  if (process.env.DOCKER_HOST) {
    throw new ClaudePodError(
      ErrorCodes.RUNTIME_MISSING,
      `No Docker Engine answers at DOCKER_HOST=${process.env.DOCKER_HOST}. Fix: start it there.`,
    );
  }
  if (process.getuid?.() !== 0) {
    throw new ClaudePodError(
      ErrorCodes.RUNTIME_MISSING,
      'Docker Engine is installed but not running, and only root can start it. Fix: as root run ' +
        '`systemctl start docker` (or `claude-pod setup` with "runtime": "docker").',
    );
  }
  if (hasSystemd()) {
    await execa('systemctl', ['start', 'docker'], { reject: false, stdin: 'ignore', timeout: 60_000 });
    done.push('started docker.service');
  } else {
    done.push(
      `started dockerd ${dockerdArgs(config).join(' ')} (no systemd; log ${await startDockerd(config)})`,
    );
  }
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await engineAnswers(client))) {
    if (Date.now() > deadline) {
      const log = join(cacheDir(), 'logs', 'dockerd.log');
      const text = await readFile(log, 'utf8').catch(() => '');
      throw new ClaudePodError(
        ErrorCodes.RUNTIME_MISSING,
        `Docker Engine did not answer within ${READY_TIMEOUT_MS / 1000} s after it was started.\n${tail(text, 10)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { detail: done.join('; ') };
}

/** Starts dockerd in its own session so it outlives setup; returns its log file. */
async function startDockerd(config: Pick<ResolvedConfig, 'network'>): Promise<string> {
  const dockerd = await findExecutable('dockerd');
  if (!dockerd) throw new ClaudePodError(ErrorCodes.RUNTIME_MISSING, 'dockerd is not installed');
  const logs = join(cacheDir(), 'logs');
  await mkdir(logs, { recursive: true });
  const log = join(logs, 'dockerd.log');
  const fd = openSync(log, 'a');
  const child = spawn(dockerd, dockerdArgs(config), { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  return log;
}
