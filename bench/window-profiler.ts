/**
 * A CPU profile of the main thread during a measurement window only (`--cpu-prof-dir`), via the
 * inspector: unlike `node --cpu-prof` it leaves out setup, ramp-up and the byte-accuracy hashing.
 * Open the .cpuprofile in Chrome DevTools; `summarizeProfile` gives the top self-time frames.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

export interface WindowProfiler {
  stop(): Promise<ProfileSummary>;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Top frames by self time (idle excluded from the shares). */
  top: Array<{ frame: string; selfMs: number; share: number }>;
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export async function startWindowProfiler(dir: string, name: string): Promise<WindowProfiler> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
      session.disconnect();
      const file = join(dir, `${name}.cpuprofile`);
      await writeFile(file, JSON.stringify(profile));
      return { file, ...summarizeProfile(profile) };
    },
  };
}

export function summarizeProfile(profile: CpuProfile, limit = 15): Omit<ProfileSummary, 'file'> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const cf = byId.get(id)?.callFrame;
    if (!cf) return;
    if (cf.functionName === '(idle)') {
      idle += dt;
      return;
    }
    const where = cf.url ? ` ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}` : '';
    const frame = `${cf.functionName || '(anonymous)'}${where}`;
    self.set(frame, (self.get(frame) ?? 0) + dt);
  });
  const busy = Math.max(1e-9, total - idle);
  const top = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([frame, ms]) => ({ frame, selfMs: Math.round(ms), share: Math.round((1000 * ms) / busy) / 1000 }));
  return {
    totalMs: Math.round(total),
    top: [{ frame: '(idle)', selfMs: Math.round(idle), share: Number.NaN }, ...top],
  };
}
