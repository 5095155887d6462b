/**
 * Which build of claude-pod the benchmark drives. By default the compiled package in dist/ (what
 * production runs: its worker threads load plain JavaScript); `--src` drives the TypeScript
 * sources instead, whose worker threads load through tsx (slower to start, ~50 MB more RSS each).
 * Types always come from src/.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as CreateModule from '../src/supervisor/create.js';
import type * as PoolModule from '../src/supervisor/pool.js';
import type * as ProxyGateModule from '../src/supervisor/proxy-gate.js';

export type ImplKind = 'dist' | 'src';

export interface Impl {
  kind: ImplKind;
  createSupervisor: typeof CreateModule.openOwner;
  JobPool: typeof PoolModule.JobPool;
  ProxyGate: typeof ProxyGateModule.ProxyGate;
}

const DIST_CREATE = new URL('../dist/supervisor/create.js', import.meta.url);

export function distAvailable(): boolean {
  return existsSync(fileURLToPath(DIST_CREATE));
}

const loaded = new Map<ImplKind, Promise<Impl>>();

export function loadImpl(kind: ImplKind): Promise<Impl> {
  let entry = loaded.get(kind);
  if (!entry) {
    entry = load(kind);
    loaded.set(kind, entry);
  }
  return entry;
}

async function load(kind: ImplKind): Promise<Impl> {
  const root = kind === 'dist' ? '../dist/supervisor/' : '../src/supervisor/';
  const ext = kind === 'dist' ? '.js' : '.ts';
  const url = (name: string) => new URL(`${root}${name}${ext}`, import.meta.url).href;
  const create = (await import(url('create'))) as typeof CreateModule;
  const pool = (await import(url('pool'))) as typeof PoolModule;
  const gate = (await import(url('proxy-gate'))) as typeof ProxyGateModule;
  return {
    kind,
    createSupervisor: create.openOwner,
    JobPool: pool.JobPool,
    ProxyGate: gate.ProxyGate,
  };
}
